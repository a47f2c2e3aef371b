"""The output formats and figure presets, in one place for the renderers and the command line
(a leaf: importing it costs nothing, so `bench --help` stays fast)."""

TABLE_FORMATS = ("md", "latex", "html", "csv", "json")
TABLE_EXTENSIONS = {".md": "md", ".tex": "latex", ".html": "html", ".htm": "html", ".csv": "csv", ".json": "json"}
FIGURE_FORMATS = ("png", "pdf", "svg", "pgf")
# preset -> (width in, height in, font size pt)
FIGURE_PRESETS = {"default": (5.5, 4.0, 9), "paper": (3.5, 2.6, 8), "paper-wide": (7.0, 2.8, 8),
                  "slides": (8.0, 4.5, 14)}
EXPORT_FORMATS = ("compressai", "tfc", "csv", "parquet")
BD_METHODS = ("pchip", "akima", "cubic")
BD_AVERAGES = ("curve", "per-image")  # BD of the mean curves, or per image then the mean (a profile's bd_average)
