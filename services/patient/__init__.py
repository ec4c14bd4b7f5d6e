"""Patient service: health records and vaccination history."""
