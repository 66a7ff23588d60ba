"""Which field of the lab's page an error is shown at (`settings.field_of`)."""

from nnscratch.lab.live.settings import field_of


def test_an_error_goes_to_the_field_of_the_flag_that_fixes_it():
    assert field_of("--lr 1e+30 is too large: ...") == "lr"
    message = "bad.csv: line 2 has 3 fields but the header has 2; skip it with --skip-rows 1"
    assert field_of(message) == "skip_rows"  # the control beside the upload


def test_a_data_error_naming_no_flag_goes_to_the_data():
    assert field_of("bad.csv: line 3, column 'x': 'abc' is not a number") == "data"
