"""The dashboard's logic that is not layout: filters in the URL, exports, figures, chrome."""
