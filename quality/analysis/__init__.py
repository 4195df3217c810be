"""Pure numeric code: pandas / numpy / cleanlab / scikit-learn, and no Django."""
