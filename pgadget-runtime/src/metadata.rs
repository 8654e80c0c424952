//! What the user says about the work being measured.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The kind of data the measured work handles; the seed's five choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DataType {
    #[default]
    Tabular,
    Image,
    Text,
    TimeSeries,
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

/// A data type name that is not one of the five.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown data type `{0}`; expected one of: tabular, image, text, time series, other")]
pub struct UnknownDataType(pub String);

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
/// use pgadget_runtime::{DataType, Metadata};
/// let meta = Metadata::new("linfa", "RandomForest")
///     .data_type(DataType::Tabular)
///     .data_shape("(150, 4)")
///     .algorithm_params("trees=100");
/// assert_eq!(meta.algorithm, "RandomForest");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Metadata {
    pub package: Cow<'static, str>,
    pub algorithm: Cow<'static, str>,
    pub data_type: DataType,
    pub data_shape: Cow<'static, str>,
    pub algorithm_params: Cow<'static, str>,
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

    pub fn data_type(mut self, data_type: DataType) -> Self {
        self.data_type = data_type;
        self
    }

    pub fn data_shape(mut self, shape: impl Into<Cow<'static, str>>) -> Self {
        self.data_shape = shape.into();
        self
    }

    pub fn algorithm_params(mut self, params: impl Into<Cow<'static, str>>) -> Self {
        self.algorithm_params = params.into();
        self
    }

    pub fn comments(mut self, comments: impl Into<Cow<'static, str>>) -> Self {
        self.comments = comments.into();
        self
    }

    pub fn project_name(mut self, project: impl Into<Cow<'static, str>>) -> Self {
        self.project_name = Some(project.into());
        self
    }

    pub fn function(mut self, function: impl Into<Cow<'static, str>>) -> Self {
        self.function = function.into();
        self
    }
}
