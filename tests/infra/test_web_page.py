"""The web page's routes in the deployed API: open (a browser cannot send the key to open a page) while every
route of the API itself still needs the key; and the stack's output that says where the page is."""

from __future__ import annotations

from typing import Any

from local.intrinsics import Resolver
from local.resources import api_definition
from tests.infra.cfn import Rendered

PAGE_ROUTES = {("/", "get"), ("/static/{name}", "get")}


def operations(stack: Rendered) -> dict[tuple[str, str], dict[str, Any]]:
    paths = stack.properties("ImageApi")["Body"]["paths"]
    return {(path, method): operation for path, methods in paths.items() for method, operation in methods.items()}


def test_the_page_and_its_files_need_no_key_and_every_other_route_does(stack: Rendered) -> None:
    # when the API is rendered with ApiAuth=API_KEY
    routes = operations(stack)

    # then the page's two routes are open, and there are API routes besides them, each keyed
    assert routes.keys() >= PAGE_ROUTES
    assert len(routes) > len(PAGE_ROUTES)
    for route, operation in routes.items():
        if route in PAGE_ROUTES:
            assert "security" not in operation, route
        else:
            assert operation["security"] == [{"api_key": []}], route


def test_every_route_invokes_the_api_function_so_none_is_left_to_api_gateway_s_defaults(stack: Rendered) -> None:
    for route, operation in operations(stack).items():
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy", route
        assert ":function:imagegen-test-generate-image/invocations" in integration["uri"], route


def test_every_api_event_of_the_function_is_declared_in_the_definition_so_its_security_is_explicit(
    template: dict[str, Any],
) -> None:
    # given the function's Api events and the paths of the API's definition as written
    events = template["Resources"]["GenerateImageFunction"]["Properties"]["Events"].values()
    declared = template["Resources"]["ImageApi"]["Properties"]["DefinitionBody"]["paths"]

    # then each event has its path and method in the definition (an event SAM merged in alone would be open)
    for event in events:
        path, method = event["Properties"]["Path"], event["Properties"]["Method"]
        assert method in (declared.get(path) or {}), f"{method.upper()} {path} is not in ImageApi's DefinitionBody"


def test_the_local_stack_serves_the_same_routes_the_same_way(template: dict[str, Any], stack: Rendered) -> None:
    # when the local API shim reads the routes from the template
    resolver = Resolver(template, "eu-west-1", "123456789012", "imagegen-local")
    local = {
        (route.resource, route.method.lower()): route.api_key_required
        for route in api_definition(template, resolver, "ImageApi").routes
    }

    # then they are the deployed API's, keyed alike
    assert local == {route: "security" in operation for route, operation in operations(stack).items()}


def test_a_stack_without_keys_opens_every_route(open_stack: Rendered) -> None:
    assert not [route for route, operation in operations(open_stack).items() if "security" in operation]


def test_the_page_s_url_is_the_stage_root_with_a_slash(stack: Rendered) -> None:
    assert stack.outputs["WebPageUrl"] == stack.outputs["ApiBaseUrl"] + "/"
    assert stack.outputs["WebPageUrl"] == "https://ImageApi.execute-api.eu-west-1.amazonaws.com/v1/"
