"""The wheel a user installs: the installed package, not the source tree."""

import pathlib

import oncelink


def test_the_package_is_imported_from_the_installed_wheel_not_the_source():
    here = pathlib.Path(oncelink.__file__).resolve()
    assert "site-packages" in here.parts, here
    assert (here.parent / "__init__.pyi").exists()
    assert (here.parent / "py.typed").exists()


def test_the_public_names_are_exactly_the_five_functions_and_the_error():
    assert sorted(oncelink.__all__) == ["Error", "inspect", "keygen", "link", "mint", "verify"]
