"""coastcast's Flask web app: forms, map, viewer, downloads and the JSON API."""
