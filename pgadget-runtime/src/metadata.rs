//! What the user says about the work being measured.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The kind of data the measured work handles; the seed's five choices, written in the log's
/// "Data type" column as [`as_str`](DataType::as_str) gives them.
///
/// ```
/// use pgadget::DataType;
/// assert_eq!("time series".parse::<DataType>(), Ok(DataType::TimeSeries));
/// assert_eq!(DataType::Image.to_string(), "image");
/// assert!("images".parse::<DataType>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DataType {
    /// Rows and columns (`tabular`, the default).
    #[default]
    Tabular,
    /// Pictures (`image`).
    Image,
    /// Words (`text`).
    Text,
    /// Values over time (`time series`).
    TimeSeries,
    /// Anything else (`other`).
    Other,
}

impl DataType {
    /// Every data type, in the order the seed lists them.
    pub const ALL: [DataType; 5] = [
        DataType::Tabular,
        DataType::Image,
        DataType::Text,
        DataType::TimeSeries,
        DataType::Other,
    ];

    /// The text written in the log's "Data type" column.
    pub const fn as_str(self) -> &'static str {
        match self {
            DataType::Tabular => "tabular",
            DataType::Image => "image",
            DataType::Text => "text",
            DataType::TimeSeries => "time series",
            DataType::Other => "other",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A data type name that is not one of the five (the error of parsing a [`DataType`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown data type `{0}`; expected one of: tabular, image, text, time series, other")]
#[non_exhaustive]
pub struct UnknownDataType(String);

impl UnknownDataType {
    /// The name that was given.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl FromStr for DataType {
    type Err = UnknownDataType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DataType::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDataType(s.to_string()))
    }
}

/// The description of one measured piece of work: the seed's `mesure_power` arguments.
///
/// ```
/// use pgadget::{DataType, Metadata};
/// let meta = Metadata::new("linfa", "RandomForest")
///     .data_type(DataType::Tabular)
///     .data_shape("(150, 4)")
///     .algorithm_params("trees=100");
/// assert_eq!(meta.algorithm, "RandomForest");
/// ```
///
/// Build one with [`Metadata::new`] and the setters; fields may be added, so it is not built
/// field by field outside pgadget.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Metadata {
    /// The library doing the work ("Package").
    pub package: Cow<'static, str>,
    /// What it runs ("Algorithm").
    pub algorithm: Cow<'static, str>,
    /// The kind of data ("Data type").
    pub data_type: DataType,
    /// The size of the data, in any notation ("Data shape").
    pub data_shape: Cow<'static, str>,
    /// The algorithm's settings ("Algorithm's parameters").
    pub algorithm_params: Cow<'static, str>,
    /// Anything else worth keeping with the row ("Comment").
    pub comments: Cow<'static, str>,
    /// The measured function's module path and name ("Function"); empty for a closure.
    pub function: Cow<'static, str>,
    /// The project this work belongs to, overriding the meter's ("Project name").
    pub project_name: Option<Cow<'static, str>>,
    /// The project name this work belongs to when the meter has none configured: for the
    /// attribute, the name of the crate that defines the function.
    pub default_project: Option<Cow<'static, str>>,
}

impl Metadata {
    /// Metadata for work done with `package` running `algorithm`; every other field empty
    /// (`data_type` tabular).
    pub fn new(
        package: impl Into<Cow<'static, str>>,
        algorithm: impl Into<Cow<'static, str>>,
    ) -> Self {
        Metadata {
            package: package.into(),
            algorithm: algorithm.into(),
            ..Metadata::default()
        }
    }

    /// Sets [`data_type`](Metadata::data_type).
    pub fn data_type(mut self, data_type: DataType) -> Self {
        self.data_type = data_type;
        self
    }

    /// Sets [`data_shape`](Metadata::data_shape).
    pub fn data_shape(mut self, shape: impl Into<Cow<'static, str>>) -> Self {
        self.data_shape = shape.into();
        self
    }

    /// Sets [`algorithm_params`](Metadata::algorithm_params).
    pub fn algorithm_params(mut self, params: impl Into<Cow<'static, str>>) -> Self {
        self.algorithm_params = params.into();
        self
    }

    /// Sets [`comments`](Metadata::comments).
    pub fn comments(mut self, comments: impl Into<Cow<'static, str>>) -> Self {
        self.comments = comments.into();
        self
    }

    /// Sets [`project_name`](Metadata::project_name): this work's project, whatever the
    /// meter's.
    pub fn project_name(mut self, project: impl Into<Cow<'static, str>>) -> Self {
        self.project_name = Some(project.into());
        self
    }

    /// Sets [`function`](Metadata::function), the "Function" column (empty by default).
    pub fn function(mut self, function: impl Into<Cow<'static, str>>) -> Self {
        self.function = function.into();
        self
    }
}
