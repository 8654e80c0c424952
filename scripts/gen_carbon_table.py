#!/usr/bin/env python3
"""Regenerates pgadget-runtime/src/carbon/table.rs, the carbon-intensity table pgadget compiles in.

Source: the per-country carbon intensity of electricity (gCO2e/kWh) compiled by Our World in
Data (https://ourworldindata.org/grapher/carbon-intensity-electricity, CC BY 4.0), as shipped
in the `codecarbon` package on PyPI (file codecarbon/data/private_infra/global_energy_mix.json,
one row per country keyed by ISO 3166 alpha-3, with `carbon_intensity`, `total_TWh` and
`year`). ISO 3166 alpha-2 codes and the official/common English names come from `pycountry`.

The world average is the generation-weighted mean of every row's intensity (weights:
`total_TWh`), so it comes from the same data as the countries it stands in for.

A country the source has no row for can be added from elsewhere in SUPPLEMENT below, with its
own source, which the table records beside its figure. Supplements are kept out of the world
average, which stays the source's own.

Usage (needs network access to PyPI only, and `pip install pycountry`):

    python3 scripts/gen_carbon_table.py                       # downloads codecarbon==3.3.2
    python3 scripts/gen_carbon_table.py --wheel path/to/codecarbon-X-py3-none-any.whl

The output is deterministic for a given codecarbon wheel and pycountry version.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import unicodedata
import zipfile

DEFAULT_CODECARBON = "3.3.2"
MIX_PATH = "codecarbon/data/private_infra/global_energy_mix.json"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "pgadget-runtime", "src", "carbon", "table.rs")

# Spellings people use that ISO 3166 does not list. Keep this short and uncontroversial.
EXTRA_ALIASES = {
    "GB": ["UK", "Great Britain", "Britain"],
    "US": ["America"],
}


# Countries codecarbon's file has no row for, each with a figure from a named source.
SUPPLEMENT = [
    {
        # Kosovo has no ISO 3166-1 code, so the file (keyed by ISO alpha-3) has no row for it;
        # XK / XKX are the user-assigned codes the EU, the IMF and geolocation services such as
        # ipinfo.io use. Ember's yearly electricity data, which Our World in Data compiles for
        # the other rows, gives Kosovo 894.65 gCO2e/kWh for 2023 (its grid is mostly lignite).
        # The figure as published in The Green Web Foundation's co2.js, file
        # data/output/average-intensities.json (generated from Ember's country_overview_yearly),
        # whose figures for other countries equal this table's (France 56.04, Germany 380.95,
        # Serbia 636.06, Bosnia and Herzegovina 600 for 2023).
        "alpha2": "XK",
        "alpha3": "XKX",
        "name": "Kosovo",
        "aliases": ["Republic of Kosovo"],
        "intensity": 894.65,
        "year": 2023,
        "source": "Ember, yearly electricity data (CC BY 4.0), as published in the Green Web "
                  "Foundation's co2.js (average-intensities.json)",
    },
]


def normalise(s):
    """The key names are compared on; the Rust side (`country::normalise`) does the same."""
    return "".join(c for c in s.lower() if c.isalnum())


def ascii_fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


def rust_str(s):
    return json.dumps(s, ensure_ascii=False)


def load_wheel(args):
    if args.wheel:
        return args.wheel
    tmp = tempfile.mkdtemp(prefix="pgadget-codecarbon-")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
         f"codecarbon=={args.codecarbon}"],
        check=True,
    )
    wheels = glob.glob(os.path.join(tmp, "codecarbon-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"expected one codecarbon wheel in {tmp}, found {wheels}")
    return wheels[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", help="a codecarbon wheel to read instead of downloading one")
    parser.add_argument("--codecarbon", default=DEFAULT_CODECARBON,
                        help="the codecarbon version to download (default %(default)s)")
    parser.add_argument("--out", default=OUT, help="where to write the Rust table")
    args = parser.parse_args()

    try:
        import pycountry
    except ImportError:
        sys.exit("this script needs pycountry: pip install pycountry")

    wheel = load_wheel(args)
    wheel_name = os.path.basename(wheel)
    cc_version = wheel_name.split("-")[1]
    with zipfile.ZipFile(wheel) as z:
        mix = json.loads(z.read(MIX_PATH))
    pycountry_version = getattr(pycountry, "__version__", None) or "unknown"
    try:
        from importlib.metadata import version
        pycountry_version = version("pycountry")
    except Exception:
        pass

    rows = []
    keys = {}  # normalised spelling -> alpha-2, to refuse ambiguous spellings

    def claim(key_source, alpha2):
        key = normalise(key_source)
        if not key:
            return False
        owner = keys.get(key)
        if owner is not None and owner != alpha2:
            sys.exit(f"spelling {key_source!r} would match both {owner} and {alpha2}")
        new = owner is None
        keys[key] = alpha2
        return new

    for alpha3, entry in mix.items():
        if entry.get("iso_code") != alpha3:
            sys.exit(f"{MIX_PATH}: key {alpha3} has iso_code {entry.get('iso_code')!r}")
        intensity = entry.get("carbon_intensity")
        if intensity is None or not isinstance(intensity, (int, float)) or intensity < 0:
            print(f"skipping {alpha3}: no usable carbon_intensity ({intensity!r})", file=sys.stderr)
            continue
        iso = pycountry.countries.get(alpha_3=alpha3)
        if iso is None:
            print(f"skipping {alpha3} ({entry['country_name']}): not an ISO 3166 country",
                  file=sys.stderr)
            continue
        name = entry["country_name"]
        claim(iso.alpha_2, iso.alpha_2)
        claim(iso.alpha_3, iso.alpha_2)
        claim(name, iso.alpha_2)
        aliases = []
        candidates = [name, iso.name, getattr(iso, "common_name", None),
                      getattr(iso, "official_name", None)] + EXTRA_ALIASES.get(iso.alpha_2, [])
        for cand in candidates:
            for spelling in (cand, ascii_fold(cand) if cand else None):
                if spelling and claim(spelling, iso.alpha_2):
                    aliases.append(spelling)
        rows.append({
            "alpha2": iso.alpha_2,
            "alpha3": alpha3,
            "name": name,
            "aliases": aliases,
            "intensity": float(intensity),
            "year": int(entry["year"]),
            "twh": float(entry.get("total_TWh") or 0.0),
            "source": None,
        })

    weight = sum(r["twh"] for r in rows)
    world = sum(r["intensity"] * r["twh"] for r in rows) / weight
    years = sorted({r["year"] for r in rows})

    for extra in SUPPLEMENT:
        if any(r["alpha2"] == extra["alpha2"] for r in rows):
            sys.exit(f"{extra['alpha2']} is in the source now: drop it from SUPPLEMENT")
        if pycountry.countries.get(alpha_2=extra["alpha2"]) is not None:
            sys.exit(f"{extra['alpha2']} is an ISO 3166 country now: check the source again")
        claim(extra["alpha2"], extra["alpha2"])
        claim(extra["alpha3"], extra["alpha2"])
        claim(extra["name"], extra["alpha2"])
        aliases = [a for a in extra["aliases"] if claim(a, extra["alpha2"])]
        rows.append(dict(extra, aliases=aliases, twh=0.0))
    rows.sort(key=lambda r: r["alpha2"])

    have = {r["alpha2"] for r in rows}
    no_data = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        if c.alpha_2 in have:
            continue
        name = getattr(c, "common_name", None) or c.name
        aliases = []
        claim(c.alpha_2, c.alpha_2)
        claim(c.alpha_3, c.alpha_2)
        claim(name, c.alpha_2)
        for cand in (c.name, getattr(c, "official_name", None)):
            for spelling in (cand, ascii_fold(cand) if cand else None):
                if spelling and claim(spelling, c.alpha_2):
                    aliases.append(spelling)
        no_data.append((c.alpha_2, c.alpha_3, name, aliases))

    out = []
    w = out.append
    w("// @generated by scripts/gen_carbon_table.py -- do not edit; rerun the script.")
    w(f"// Source: {MIX_PATH} in {wheel_name} (PyPI),")
    w("// Our World in Data's carbon intensity of electricity per country (CC BY 4.0);")
    w(f"// ISO 3166 alpha-2 codes and English names from pycountry {pycountry_version}.")
    w("// The world average is the generation-weighted mean (weights: total_TWh) of these rows,")
    w("// supplements (rows with a source of their own, see SUPPLEMENT in the script) excepted.")
    w("")
    w("use super::intensity::{CountryIntensity, IsoCountry};")
    w("")
    w("/// The pycountry version the ISO codes and names came from.")
    w(f"pub(crate) const PYCOUNTRY_VERSION: &str = {rust_str(pycountry_version)};")
    w("/// Where each country's figure comes from.")
    src = f"Our World in Data (CC BY 4.0), via codecarbon {cc_version}"
    w(f"pub(crate) const COUNTRY_SOURCE: &str = {rust_str(src)};")
    w("/// Where the world average comes from.")
    wsrc = ("generation-weighted mean of the per-country figures of Our World in Data "
            f"(CC BY 4.0), via codecarbon {cc_version}")
    w(f"pub(crate) const WORLD_SOURCE: &str = {rust_str(wsrc)};")
    for extra in SUPPLEMENT:
        # A constant of its own: rustfmt gives up on an array holding a line it cannot fit.
        w(f"/// Where the figure for {extra['name']} comes from (not in the source above).")
        w(f"pub(crate) const SOURCE_{extra['alpha2']}: &str = {rust_str(extra['source'])};")
    w("")
    w("/// Generation-weighted mean intensity of the rows below from COUNTRY_SOURCE, gCO2e/kWh.")
    w(f"pub(crate) const WORLD_INTENSITY: f64 = {world:.3f};")
    w("/// The earliest and latest data year among the rows from COUNTRY_SOURCE.")
    w(f"pub(crate) const WORLD_YEARS: (u16, u16) = ({years[0]}, {years[-1]});")
    w("/// The electricity generation the world average is weighted by, TWh.")
    w(f"pub(crate) const WORLD_GENERATION_TWH: f64 = {weight:.2f};")
    w("")
    w("/// Every country with a figure, sorted by alpha-2.")
    w(f"pub(crate) static COUNTRIES: [CountryIntensity; {len(rows)}] = [")
    for r in rows:
        aliases = ", ".join(rust_str(a) for a in r["aliases"])
        w("    CountryIntensity {")
        w(f"        alpha2: {rust_str(r['alpha2'])},")
        w(f"        alpha3: {rust_str(r['alpha3'])},")
        w(f"        name: {rust_str(r['name'])},")
        w(f"        aliases: &[{aliases}],")
        w(f"        intensity: {r['intensity']!r},")
        w(f"        year: {r['year']},")
        w(f"        source: {'SOURCE_' + r['alpha2'] if r['source'] else 'COUNTRY_SOURCE'},")
        w("    },")
    w("];")
    w("")
    w("/// ISO 3166 countries the source has no figure for, sorted by alpha-2.")
    w(f"pub(crate) static NO_DATA: [IsoCountry; {len(no_data)}] = [")
    for a2, a3, name, aliases in no_data:
        al = ", ".join(rust_str(a) for a in aliases)
        w("    IsoCountry {")
        w(f"        alpha2: {rust_str(a2)},")
        w(f"        alpha3: {rust_str(a3)},")
        w(f"        name: {rust_str(name)},")
        w(f"        aliases: &[{al}],")
        w("    },")
    w("];")
    # rustfmt leaves alone a file whose header says @generated (and cargo fmt skips it), so
    # the code is formatted before the header is put back on.
    header_end = out.index("use super::intensity::{CountryIntensity, IsoCountry};")
    header, code = out[:header_end], "\n".join(out[header_end:]) + "\n"
    try:
        code = subprocess.run(["rustfmt", "--edition", "2021", "--emit", "stdout"], input=code,
                              capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"warning: rustfmt failed ({e}); the table is left unformatted", file=sys.stderr)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(header) + "\n" + code)
    print(f"wrote {len(rows)} countries ({len(SUPPLEMENT)} from SUPPLEMENT, {len(no_data)} ISO "
          f"countries without data), "
          f"world average {world:.3f} gCO2e/kWh ({years[0]}-{years[-1]}) to {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
