"""Which field of the lab's page an error is shown at (`settings.field_of`)."""

from nnscratch.lab.live.settings import field_of


def test_a_flag_error_goes_to_its_field():
    assert field_of("--lr 1e+30 is too large: ...") == "lr"
    assert field_of("--hidden-layers must be ...") == "hidden_layers"


def test_a_data_error_that_suggests_a_flag_stays_at_the_data():
    """The CSV reader's hint names --skip-rows; the error is still about the uploaded file."""
    message = "bad.csv: line 2 has 3 fields but the header has 2; skip it with --skip-rows 1"
    assert field_of(message) == "data"
