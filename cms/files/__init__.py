"""The content-file formats of design/content-files.md: reading them into records for `content`."""
