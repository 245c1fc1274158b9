import ipaddress
import json
import uuid

import pytest

from service.jobs import (
    BooleanVar,
    ChoiceVar,
    DryRunVar,
    FileVar,
    IntegerVar,
    IPAddressVar,
    IPAddressWithMaskVar,
    IPNetworkVar,
    Job,
    JSONVar,
    MultiChoiceVar,
    MultiObjectVar,
    ObjectVar,
    StringVar,
    TextVar,
    UploadedFile,
)

COLOURS = (("ff0000", "Red"), ("00ff00", "Green"), ("0000ff", "Blue"))


def refused(variable, value) -> str:
    with pytest.raises(ValueError) as caught:
        variable.clean(value)
    return str(caught.value)


# ----- required, defaults, missing values --------------------------------------------------------


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_required_variable_refuses_a_missing_value(missing):
    assert refused(StringVar(), missing) == "This field is required."


def test_optional_variable_without_default_becomes_none():
    assert StringVar(required=False).clean(None) is None


def test_default_applies_when_value_is_missing_even_if_required():
    assert IntegerVar(default=3).clean(None) == 3
    assert IntegerVar(default=3).clean("") == 3


def test_default_is_converted_like_a_given_value():
    assert IPAddressVar(default="192.0.2.1").clean(None) == ipaddress.ip_address("192.0.2.1")


def test_given_value_wins_over_default():
    assert IntegerVar(default=3).clean("7") == 7


def test_variable_learns_its_name_from_the_job_class_attribute():
    class Named(Job):
        site_name = StringVar()

    assert Named.site_name.name == "site_name"


# ----- StringVar / TextVar -----------------------------------------------------------------------


def test_string_var_strips_and_accepts_text():
    assert StringVar().clean("  router1 ") == "router1"


def test_string_var_accepts_numbers_as_text():
    assert StringVar().clean(42) == "42"


def test_string_var_refuses_containers():
    assert refused(StringVar(), ["a"]) == "Enter a text value."


def test_string_var_refuses_values_shorter_than_min_length():
    assert refused(StringVar(min_length=3), "ab") == "Ensure this value has at least 3 characters (it has 2)."


def test_string_var_refuses_values_longer_than_max_length():
    assert (
        refused(StringVar(max_length=3), "abcd") == "Ensure this value has at most 3 characters (it has 4)."
    )


def test_string_var_accepts_values_at_its_length_bounds():
    assert StringVar(min_length=2, max_length=3).clean("ab") == "ab"
    assert StringVar(min_length=2, max_length=3).clean("abc") == "abc"


def test_string_var_refuses_values_not_matching_its_regex():
    assert refused(StringVar(regex=r"^[a-z]+\d$"), "Router") == r"Invalid value. Must match regex: ^[a-z]+\d$"


def test_string_var_accepts_values_matching_its_regex():
    assert StringVar(regex=r"^[a-z]+\d$").clean("router1") == "router1"


def test_text_var_keeps_inner_newlines():
    assert TextVar().clean("line one\nline two\n") == "line one\nline two"


def test_text_var_refuses_bytes():
    assert refused(TextVar(), b"raw") == "Enter a text value."


# ----- IntegerVar --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [(5, 5), ("5", 5), (" -2 ", -2), (4.0, 4)])
def test_integer_var_accepts_whole_numbers(raw, expected):
    assert IntegerVar().clean(raw) == expected


@pytest.mark.parametrize("raw", ["five", "1.5", 1.5, True, [1]])
def test_integer_var_refuses_anything_but_whole_numbers(raw):
    assert refused(IntegerVar(), raw) == "Enter a whole number."


def test_integer_var_refuses_values_below_min_value():
    assert refused(IntegerVar(min_value=5), 4) == "Ensure this value is greater than or equal to 5."


def test_integer_var_refuses_values_above_max_value():
    assert refused(IntegerVar(max_value=10), 11) == "Ensure this value is less than or equal to 10."


def test_integer_var_accepts_zero_as_a_value_not_as_missing():
    assert IntegerVar(default=9).clean(0) == 0


# ----- BooleanVar / DryRunVar --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), ("true", True), ("False", False), ("on", True), ("0", False), (1, True)],
)
def test_boolean_var_accepts_boolean_spellings(raw, expected):
    assert BooleanVar().clean(raw) is expected


@pytest.mark.parametrize("raw", ["maybe", 2, [True]])
def test_boolean_var_refuses_other_values(raw):
    assert refused(BooleanVar(), raw) == "Enter a valid boolean (true or false)."


def test_boolean_var_is_never_required_and_missing_means_false():
    flag = BooleanVar(required=True)
    assert flag.required is False
    assert flag.clean(None) is False


def test_boolean_var_missing_takes_its_default():
    assert BooleanVar(default=True).clean(None) is True


def test_dry_run_var_is_a_boolean_var():
    assert DryRunVar().clean("yes") is True
    assert DryRunVar().clean(None) is False


# ----- ChoiceVar / MultiChoiceVar ----------------------------------------------------------------


def test_choice_var_accepts_a_declared_value():
    assert ChoiceVar(choices=COLOURS).clean("00ff00") == "00ff00"


def test_choice_var_refuses_an_undeclared_value():
    message = refused(ChoiceVar(choices=COLOURS), "purple")
    assert message == "Select a valid choice. purple is not one of the available choices."


def test_choice_var_matches_text_input_to_non_text_choices():
    assert ChoiceVar(choices=((1, "One"), (2, "Two"))).clean("2") == 2


def test_choice_var_accepts_bare_values_as_their_own_labels():
    variable = ChoiceVar(choices=["a", "b"])
    assert variable.clean("b") == "b"
    assert variable.choices == [("a", "a"), ("b", "b")]


def test_multi_choice_var_accepts_several_declared_values_once_each():
    assert MultiChoiceVar(choices=COLOURS).clean(["0000ff", "ff0000", "0000ff"]) == ["0000ff", "ff0000"]


def test_multi_choice_var_takes_a_single_value_as_a_list_of_one():
    assert MultiChoiceVar(choices=COLOURS).clean("ff0000") == ["ff0000"]


def test_multi_choice_var_refuses_any_undeclared_value():
    assert "purple is not one of" in refused(MultiChoiceVar(choices=COLOURS), ["ff0000", "purple"])


def test_multi_choice_var_refuses_an_empty_list_when_required():
    assert refused(MultiChoiceVar(choices=COLOURS), []) == "This field is required."


def test_optional_multi_choice_var_without_value_is_an_empty_list():
    assert MultiChoiceVar(choices=COLOURS, required=False).clean(None) == []


# ----- ObjectVar / MultiObjectVar ----------------------------------------------------------------


def test_object_var_accepts_ids_of_every_shape():
    object_id = uuid.uuid4()
    variable = ObjectVar(model="dcim.device")
    assert variable.clean(object_id) == str(object_id)
    assert variable.clean(" abc ") == "abc"
    assert variable.clean(12) == 12


def test_object_var_accepts_a_dict_of_object_data():
    data = {"id": 1, "name": "router1"}
    assert ObjectVar(model="dcim.device").clean(data) == data


@pytest.mark.parametrize("raw", [True, 1.5, ["x"], {}])
def test_object_var_refuses_what_is_neither_an_id_nor_object_data(raw):
    message = refused(ObjectVar(model="dcim.device"), raw)
    assert message in ("Enter an object id or the object's data.", "This field is required.")


def test_object_var_treats_null_as_no_object_when_it_has_a_null_option():
    assert ObjectVar(model="dcim.device", null_option="None", required=False).clean("null") is None


def test_object_var_stores_a_model_class_as_text():
    class FakeMeta:
        label_lower = "dcim.device"

    class Device:
        _meta = FakeMeta

    class Plain:
        pass

    assert ObjectVar(model=Device).model == "dcim.device"
    assert ObjectVar(model=Plain).model.endswith("Plain")


def test_multi_object_var_accepts_a_list_of_references():
    assert MultiObjectVar(model="dcim.device").clean([1, "2", {"id": 3}]) == [1, "2", {"id": 3}]


def test_multi_object_var_refuses_a_bad_reference_in_the_list():
    assert (
        refused(MultiObjectVar(model="dcim.device"), [1, None]) == "Enter an object id or the object's data."
    )


# ----- FileVar -----------------------------------------------------------------------------------


def test_file_var_accepts_an_uploaded_file():
    upload = UploadedFile(name="devices.csv", content=b"name\nr1\n")
    cleaned = FileVar().clean(upload)
    assert cleaned == upload
    assert cleaned.read() == b"name\nr1\n"
    assert cleaned.size == 8


def test_file_var_wraps_raw_bytes_in_an_uploaded_file():
    class WithFile(Job):
        devices = FileVar()

    cleaned = WithFile.devices.clean(b"data")
    assert cleaned == UploadedFile(name="devices", content=b"data")


def test_file_var_refuses_text_and_empty_files():
    assert refused(FileVar(), "not a file") == "No file was submitted. Check the encoding type on the form."
    assert refused(FileVar(), b"") == "The submitted file is empty."


# ----- IP variables ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["192.0.2.1", "2001:db8::1", ipaddress.ip_address("192.0.2.9")])
def test_ip_address_var_accepts_addresses(raw):
    assert IPAddressVar().clean(raw) == ipaddress.ip_address(str(raw))


@pytest.mark.parametrize("raw", ["192.0.2.1/24", "300.1.1.1", "router", 3232235777])
def test_ip_address_var_refuses_non_addresses(raw):
    assert refused(IPAddressVar(), raw) == "Enter a valid IPv4 or IPv6 address."


def test_ip_address_with_mask_var_returns_an_interface():
    cleaned = IPAddressWithMaskVar().clean("192.0.2.7/24")
    assert cleaned == ipaddress.ip_interface("192.0.2.7/24")
    assert str(cleaned.network) == "192.0.2.0/24"


def test_ip_address_with_mask_var_requires_a_mask():
    assert refused(IPAddressWithMaskVar(), "192.0.2.7") == "CIDR mask (e.g. /24) is required."


def test_ip_address_with_mask_var_refuses_garbage():
    assert "valid IPv4 or IPv6 address with a mask" in refused(IPAddressWithMaskVar(), "192.0.2.7/99")


def test_ip_network_var_returns_a_network():
    assert IPNetworkVar().clean("192.0.2.0/24") == ipaddress.ip_network("192.0.2.0/24")
    assert IPNetworkVar().clean("2001:db8::/32") == ipaddress.ip_network("2001:db8::/32")


def test_ip_network_var_refuses_host_bits_with_nautobots_message():
    expected = "192.0.2.1/24 is not a valid prefix. Did you mean 192.0.2.0/24?"
    assert refused(IPNetworkVar(), "192.0.2.1/24") == expected


def test_variables_take_nautobots_positional_arguments_and_keep_the_widget():
    from service.jobs import ChoiceVar, DryRunVar, IntegerVar, ObjectVar, StringVar

    choice = ChoiceVar((("a", "Alpha"), ("b", "Beta")), "Letter", "Pick one", "a", widget="radio")
    assert (choice.choices, choice.label, choice.description, choice.default) == (
        [("a", "Alpha"), ("b", "Beta")], "Letter", "Pick one", "a"
    )
    assert choice.widget == "radio"
    bounded = IntegerVar(0, 10)
    assert (bounded.min_value, bounded.max_value) == (0, 10)
    assert "less than or equal to 10" in refused(bounded, 11)
    text = StringVar(2, 5, r"^x")
    assert (text.min_length, text.max_length, text.regex) == (2, 5, r"^x")

    class Device:
        class _meta:
            label_lower = "dcim.device"

    assert ObjectVar(Device).model == "dcim.device"
    assert DryRunVar().description == "Check to run job in dryrun mode."


def test_ip_network_var_requires_a_mask_and_refuses_garbage():
    assert refused(IPNetworkVar(), "192.0.2.0") == "CIDR mask (e.g. /24) is required."
    assert "valid IPv4 or IPv6 network" in refused(IPNetworkVar(), "nope/24")


def test_ip_network_var_enforces_prefix_length_bounds():
    variable = IPNetworkVar(min_prefix_length=16, max_prefix_length=24)
    assert refused(variable, "10.0.0.0/8") == "The prefix length must be greater than or equal to 16."
    assert refused(variable, "10.0.0.0/28") == "The prefix length must be less than or equal to 24."
    assert variable.clean("10.1.0.0/16") == ipaddress.ip_network("10.1.0.0/16")


# ----- JSONVar -----------------------------------------------------------------------------------


def test_json_var_parses_a_json_string():
    assert JSONVar().clean('{"vlans": [10, 20]}') == {"vlans": [10, 20]}


def test_json_var_accepts_already_parsed_values_including_empty_ones():
    assert JSONVar().clean({"a": 1}) == {"a": 1}
    assert JSONVar().clean([]) == []
    assert JSONVar().clean(0) == 0


@pytest.mark.parametrize("raw", ["{not json", {"a": object()}])
def test_json_var_refuses_invalid_json(raw):
    assert refused(JSONVar(), raw) == "Enter valid JSON."


# ----- schema ------------------------------------------------------------------------------------


def test_every_variable_schema_is_json_serialisable_with_its_attributes():
    class Everything(Job):
        text = TextVar(description="Free text")
        name = StringVar(min_length=1, max_length=5, regex="^a", label="Name")
        count = IntegerVar(min_value=1, max_value=9, default=2)
        flag = BooleanVar()
        colour = ChoiceVar(choices=COLOURS)
        colours = MultiChoiceVar(choices=COLOURS)
        device = ObjectVar(model="dcim.device", query_params={"site": "$site"}, null_option="None")
        devices = MultiObjectVar(model="dcim.device")
        upload = FileVar()
        address = IPAddressVar(default=ipaddress.ip_address("192.0.2.1"))
        interface = IPAddressWithMaskVar()
        network = IPNetworkVar(min_prefix_length=8, max_prefix_length=30)
        blob = JSONVar(required=False)

        def run(self, **data):
            return None

    schema = {item["name"]: item for item in json.loads(json.dumps(Everything.variable_schema()))}
    assert schema["name"] == {
        "name": "name",
        "type": "StringVar",
        "label": "Name",
        "description": "",
        "required": True,
        "default": None,
        "min_length": 1,
        "max_length": 5,
        "regex": "^a",
    }
    assert schema["text"]["label"] == "Text" and schema["text"]["description"] == "Free text"
    assert schema["count"]["min_value"] == 1 and schema["count"]["default"] == 2
    assert schema["flag"]["required"] is False
    assert schema["colour"]["choices"] == [["ff0000", "Red"], ["00ff00", "Green"], ["0000ff", "Blue"]]
    assert schema["device"]["model"] == "dcim.device"
    assert schema["device"]["query_params"] == {"site": "$site"}
    assert schema["device"]["display_field"] == "display"
    assert schema["device"]["null_option"] == "None"
    assert schema["address"]["default"] == "192.0.2.1"
    assert schema["network"]["max_prefix_length"] == 30
    assert schema["blob"]["type"] == "JSONVar" and schema["blob"]["required"] is False


def test_a_schema_rebuilds_an_equivalent_variable_from_its_own_attributes():
    # The service validates input from stored schemas without importing job code, so every
    # schema key (other than name and type) must be a constructor argument of its class.
    class Everything(Job):
        text = TextVar(description="d", label="L", required=False, default="x")
        name = StringVar(min_length=1, max_length=5, regex="^a")
        count = IntegerVar(min_value=1, max_value=9)
        flag = BooleanVar(default=True)
        dry = DryRunVar()
        colour = ChoiceVar(choices=COLOURS)
        colours = MultiChoiceVar(choices=COLOURS)
        device = ObjectVar(model="dcim.device", query_params={"a": "b"}, null_option="None")
        devices = MultiObjectVar(model="dcim.device")
        upload = FileVar()
        address = IPAddressVar(default="192.0.2.1")
        interface = IPAddressWithMaskVar()
        network = IPNetworkVar(min_prefix_length=8, max_prefix_length=30)
        blob = JSONVar()

    for variable in Everything.variables().values():
        schema = json.loads(json.dumps(variable.schema()))
        rebuilt = type(variable)(**{k: v for k, v in schema.items() if k not in ("name", "type")})
        rebuilt.name = variable.name
        assert rebuilt.schema() == schema
