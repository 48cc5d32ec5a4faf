"""Every IAM statement of terraform/ goes through an offline IAM linter (parliament).

Role policies, trust policies, queue, bucket and bus policies are ``aws_iam_policy_document``
blocks; the KMS key policy is a ``jsonencode`` object. Both are read with python-hcl2, every
``dynamic "statement"`` counted as if its ``for_each`` held one element, and each interpolation is
rendered to a placeholder of the shape the real value has (an SQS queue ARN for a queue ARN, a
stream ARN for the stream), so parliament can check that each action exists, each condition key
applies to the action, and each resource can match the action.

A finding fails the test unless the file explains it where it sits, in a comment
``# parliament-ignore <ISSUE> in <Sid>: <reason>`` (a key policy's ``Resource: "*"``, say).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from parliament import analyze_policy_string

from tests.terraform.conftest import MODULES, data_sources, one, parse, resources

if TYPE_CHECKING:
    from pathlib import Path

ACCOUNT = "123456789012"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUS = "dynamo-archive-dev"
LOG_GROUPS = "/aws/lambda/dynamo-archive-"

#: Every reference a policy reads, as a value of its real shape. A reference missing here fails
#: the test (add it, with the shape the real value has) rather than being linted as a wrong ARN.
PLACEHOLDERS: dict[str, Any] = {
    "local.account_id": ACCOUNT,
    "local.partition": "aws",
    "local.region": REGION,
    "local.name": "dynamo-archive-orders",
    "local.folder": "archive/orders/",
    "local.bucket_arn": "arn:aws:s3:::acme-dynamo-archive-dev",
    "local.bus_arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/dynamo-archive-dev",
    # parliament splits an ARN at every ':', so the stream label's colons (2024-01-01T00:00:00.000)
    # would make a real stream ARN look like one of another type; the label here has none.
    "local.stream_arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/2024-01-01T00.00.00.000",
    "local.table_kms": KEY,
    "var.kms_key_arn": KEY,
    "var.queue_kms_key_arn": KEY,
    "var.name_prefix": "dynamo-archive",
    "local.bus_name": "dynamo-archive-dev",
    "local.pipe_roles": f"arn:aws:iam::{ACCOUNT}:role/dynamo-archive-*-pipe",
    "local.function_log_groups": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/dynamo-archive-*",
    "local.archive_rules": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/dynamo-archive-dev/dynamo-archive-*",
    "aws_sqs_queue.dead_letters.arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dynamo-archive-orders-dlq",
    "aws_iam_role.function.arn": f"arn:aws:iam::{ACCOUNT}:role/dynamo-archive-orders-fn",
    "aws_iam_role.pipe[*].arn": [f"arn:aws:iam::{ACCOUNT}:role/dynamo-archive-orders-pipe"],
    "aws_lambda_function.this.arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dynamo-archive-orders",
    "aws_cloudwatch_event_rule.this[0].arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{BUS}/dynamo-archive-orders",
    "aws_cloudwatch_log_group.function.arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUPS}orders",
    "aws_cloudwatch_log_group.reader_check.arn": (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/dynamo-archive-dev-reader-check"
    ),
    "aws_s3_bucket.this.arn": "arn:aws:s3:::acme-dynamo-archive-dev",
    "aws_cloudwatch_event_bus.this.arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/dynamo-archive-dev",
    # archive-query: the Athena workgroup, the Glue catalog and the results bucket
    "aws_athena_workgroup.this.arn": f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/dynamo-archive-dev",
    "local.catalog_arn": f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog",
    "local.database_arn": f"arn:aws:glue:{REGION}:{ACCOUNT}:database/dynamo_archive_dev",
    "local.table_arns": [f"arn:aws:glue:{REGION}:{ACCOUNT}:table/dynamo_archive_dev/orders_dev"],
    "local.folders": ["archive/orders-dev/"],
    "aws_s3_bucket.results.arn": "arn:aws:s3:::acme-dynamo-archive-dev-query-results",
    "var.results.prefix": "results/",
    "local.results_kms_key_arn": KEY,
}

_TEMPLATE = re.compile(r"\$\{([^{}]+)\}")
_FOR = re.compile(r'\$\{\[for (\w+) in ([\w.]+) : "(.*)"\]\}')


class UnknownReferenceError(KeyError):
    """A policy reads a reference PLACEHOLDERS has no value for."""


def render(value: Any, element: str | None = None) -> Any:
    """``value`` with every interpolation replaced by its placeholder; ``statement.value`` is ``element``."""
    if isinstance(value, list):
        return [item for v in value for item in _as_list(render(v, element))]
    if not isinstance(value, str):
        return value
    loop = _FOR.fullmatch(value)
    if loop:  # [for x in collection : "template with ${x}"]
        name, source, template = loop.groups()
        items = _as_list(_expression(source, element))
        return [render(template.replace("${" + name + "}", str(item)), element) for item in items]
    whole = _TEMPLATE.fullmatch(value)
    if whole:
        return _expression(whole.group(1).strip(), element)
    return _TEMPLATE.sub(lambda m: str(_expression(m.group(1).strip(), element)), value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _expression(expression: str, element: str | None) -> Any:
    if expression == "statement.value":
        if element is None:
            raise UnknownReferenceError("statement.value outside a dynamic statement")
        return _expression(element, None)
    concat = re.fullmatch(r"concat\((.*)\)", expression)
    if concat:
        parts = [p.strip() for p in re.split(r",\s*(?![^\[]*\])", concat.group(1))]
        items = [i.strip() for p in parts for i in (p[1:-1].split(",") if p.startswith("[") else [p])]
        return [v for i in items if i for v in _as_list(_expression(i, element))]
    if expression.startswith('"') and expression.endswith('"'):
        return render(expression[1:-1], element)
    if expression not in PLACEHOLDERS:
        raise UnknownReferenceError(f"no placeholder for {expression!r}: add one of the right shape to PLACEHOLDERS")
    return PLACEHOLDERS[expression]


def _for_each_element(for_each: str) -> str | None:
    """The reference a dynamic statement's ``for_each`` iterates over (``[local.bus_arn]``), if any."""
    candidates = [c for c in re.findall(r"\[([a-z_][\w.\[\]*]*)\]", for_each) if not c.isdigit()]
    return candidates[0] if candidates else None


def _statement(body: dict[str, Any], element: str | None) -> dict[str, Any]:
    """An ``aws_iam_policy_document`` statement block as IAM JSON."""
    statement: dict[str, Any] = {"Effect": one(body.get("effect", "Allow"))}
    if "sid" in body:
        statement["Sid"] = one(body["sid"])
    for hcl, iam in (("actions", "Action"), ("not_actions", "NotAction")):
        if hcl in body:
            statement[iam] = render(one(body[hcl]), element)
    for hcl, iam in (("resources", "Resource"), ("not_resources", "NotResource")):
        if hcl in body:
            statement[iam] = render(one(body[hcl]), element)
    principals: dict[str, list[Any]] = {}
    for block in body.get("principals", []):
        principal = one(block)
        principals.setdefault(one(principal["type"]), []).extend(
            _as_list(render(one(principal["identifiers"]), element))
        )
    if principals:
        statement["Principal"] = {k: v for k, v in principals.items()} if "*" not in principals else "*"
    conditions: dict[str, dict[str, Any]] = {}
    for block in body.get("condition", []):
        condition = one(block)
        test, variable = one(condition["test"]), one(condition["variable"])
        conditions.setdefault(test, {})[variable] = render(one(condition["values"]), element)
    if conditions:
        statement["Condition"] = conditions
    return statement


def document_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of a policy document block: plain ones, and each dynamic one once."""
    found = [_statement(one(body), None) for body in document.get("statement", [])]
    for dynamic in document.get("dynamic", []):
        for name, body in one(dynamic).items():
            if name != "statement":
                continue
            element = _for_each_element(one(body["for_each"]))
            found.append(_statement(one(body["content"]), element))
    return [_as_trust(statement) for statement in found]


def _as_trust(statement: dict[str, Any]) -> dict[str, Any]:
    """A trust policy statement with the role as its Resource.

    A role's trust policy is the role's resource policy: it has no Resource element because the
    resource is the role itself. parliament knows no trust policies and calls a statement without
    Resource malformed, so it is linted as what it means: sts:AssumeRole on a role.
    """
    actions = _as_list(statement.get("Action", []))
    if "Resource" in statement or not actions or not all(a.startswith("sts:AssumeRole") for a in actions):
        return statement
    return {**statement, "Resource": f"arn:aws:iam::{ACCOUNT}:role/dynamo-archive-orders-role"}


# --- jsonencode({...}) policies: python-hcl2 hands over the object as HCL expression text ---------

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[{}\[\],=:])|(?P<word>[A-Za-z0-9_.*\[\]-]+))')


def hcl_object(text: str) -> Any:
    """The value of an HCL object/tuple expression (strings, references, nesting), as Python."""
    tokens = [(m.lastgroup, m.group(m.lastgroup)) for m in _TOKEN.finditer(text)]
    position = 0

    def value() -> Any:
        nonlocal position
        kind, token = tokens[position]
        position += 1
        if token == "{":
            result = {}
            while tokens[position][1] != "}":
                key = tokens[position][1].strip('"')
                position += 2  # the key and its '=' or ':'
                result[key] = value()
                if tokens[position][1] == ",":
                    position += 1
            position += 1
            return result
        if token == "[":
            items = []
            while tokens[position][1] != "]":
                items.append(value())
                if tokens[position][1] == ",":
                    position += 1
            position += 1
            return items
        if kind == "string":
            return render(json.loads(token))
        return render(f"${{{token}}}")

    return value()


def jsonencoded_policies(folder: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """``<type>.<name>`` -> (file, policy) for every resource whose ``policy`` is ``jsonencode({...})``."""
    found = {}
    for path in sorted(folder.glob("*.tf")):
        for entry in parse(path).get("resource", []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    policy = one(body.get("policy", ""))
                    match = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", str(policy), flags=re.DOTALL)
                    if match:
                        found[f"{rtype}.{name}"] = (path, hcl_object(match.group(1)))
    return found


def policy_documents() -> list[tuple[str, Path, dict[str, Any]]]:
    """(label, file, IAM policy JSON) for every policy of every module."""
    documents = []
    for module in sorted(p for p in MODULES.iterdir() if p.is_dir()):
        for path in sorted(module.glob("*.tf")):
            for entry in parse(path).get("data", []):
                for name, body in entry.get("aws_iam_policy_document", {}).items():
                    statements = document_statements(body)
                    documents.append((f"{module.name}: data.aws_iam_policy_document.{name}", path, statements))
        for label, (path, policy) in jsonencoded_policies(module).items():
            documents.append((f"{module.name}: {label}", path, policy["Statement"]))
    return [(label, path, {"Version": "2012-10-17", "Statement": s}) for label, path, s in documents]


def findings(policy: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(issue, Sid or '', detail) for each finding of parliament on ``policy``, one statement at a time."""
    found = []
    for statement in policy["Statement"]:
        single = json.dumps({"Version": policy["Version"], "Statement": [statement]})
        for finding in analyze_policy_string(single).findings:
            found.append((finding.issue, statement.get("Sid", ""), str(finding.detail)))
    return found


def explained(path: Path, issue: str, sid: str) -> bool:
    """Whether ``path`` says why ``issue`` is right in statement ``sid``."""
    pattern = rf"#\s*parliament-ignore {re.escape(issue)} in {re.escape(sid)}: \S.{{10,}}"
    return re.search(pattern, path.read_text(encoding="utf-8")) is not None


DOCUMENTS = policy_documents()


def test_every_policy_of_the_modules_is_linted() -> None:
    labels = {label for label, _, _ in DOCUMENTS}

    # Role, trust, queue, bucket, bus and key policies alike: none may slip past the linter.
    assert {
        "table-archive: data.aws_iam_policy_document.function",
        "table-archive: data.aws_iam_policy_document.function_trust",
        "table-archive: data.aws_iam_policy_document.pipe",
        "table-archive: data.aws_iam_policy_document.pipe_trust",
        "table-archive: data.aws_iam_policy_document.dead_letters",
        "archive-environment: data.aws_iam_policy_document.bucket",
        "archive-environment: data.aws_iam_policy_document.bus",
        "archive-environment: data.aws_iam_policy_document.reader_check",
        "archive-environment: data.aws_iam_policy_document.reader_check_trust",
        "archive-environment: aws_kms_key.this",
    } <= labels
    documents = {
        (module.name, name)
        for module in MODULES.iterdir()
        if module.is_dir()
        for (dtype, name) in data_sources(module)
        if dtype == "aws_iam_policy_document"
    }
    assert len(documents) == sum(": data.aws_iam_policy_document." in label for label in labels)
    for module in MODULES.iterdir():
        for (rtype, name), body in resources(module).items() if module.is_dir() else []:
            if "policy" in body and "jsonencode" in str(body["policy"]):
                assert f"{module.name}: {rtype}.{name}" in labels


@pytest.mark.parametrize(("label", "path", "policy"), DOCUMENTS, ids=[label for label, _, _ in DOCUMENTS])
def test_policy_passes_the_offline_iam_linter_or_says_why_where_it_sits(
    label: str, path: Path, policy: dict[str, Any]
) -> None:
    unexplained = [f for f in findings(policy) if not explained(path, f[0], f[1])]

    assert not unexplained, f"{label} ({path.name}): " + "; ".join(
        f"{i} in {s or 'a statement'}: {d}" for i, s, d in unexplained
    )


# --- the linter and the extraction catch what they are here to catch ------------------------------


@pytest.mark.parametrize(
    ("statement", "issue"),
    [
        (
            {
                "Effect": "Allow",
                "Action": ["sqs:SendMesage"],
                "Resource": PLACEHOLDERS["aws_sqs_queue.dead_letters.arn"],
            },
            "UNKNOWN_ACTION",
        ),
        (
            {
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": PLACEHOLDERS["aws_sqs_queue.dead_letters.arn"],
                "Condition": {"StringEquals": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}},
            },
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
        (
            {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": PLACEHOLDERS["local.bucket_arn"]},
            "RESOURCE_MISMATCH",
        ),
    ],
    ids=["misspelt-action", "condition-key-of-another-service", "resource-of-another-service"],
)
def test_the_linter_refuses_what_it_is_here_to_refuse(statement: dict[str, Any], issue: str) -> None:
    policy = {"Version": "2012-10-17", "Statement": [statement]}

    assert issue in {i for i, _, _ in findings(policy)}


def test_dynamic_statements_are_linted_with_their_for_each_element() -> None:
    document = {
        "dynamic": [
            {
                "statement": {
                    "for_each": "${local.stream ? [local.stream_arn] : []}",
                    "content": [
                        {"sid": "Read", "actions": ["dynamodb:GetRecords"], "resources": ["${statement.value}"]}
                    ],
                }
            }
        ]
    }

    (statement,) = document_statements(document)

    assert _as_list(statement["Resource"]) == [PLACEHOLDERS["local.stream_arn"]]


def test_a_reference_without_a_placeholder_fails_instead_of_being_linted_as_text() -> None:
    with pytest.raises(UnknownReferenceError, match=r"local\.unheard_of"):
        render("arn:aws:s3:::${local.unheard_of}/*")


def test_jsonencoded_policies_are_read_whole() -> None:
    policy = hcl_object(
        '{Version = "2012-10-17", Statement = [{Sid = "A", Effect = "Allow", '
        'Principal = {AWS = "arn:${local.partition}:iam::${local.account_id}:root"}, Action = "kms:*", Resource = "*", '
        'Condition = {ArnLike = {"kms:EncryptionContext:aws:logs:arn" = local.function_log_groups}}}]}'
    )

    assert policy["Statement"][0] == {
        "Sid": "A",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": PLACEHOLDERS["local.function_log_groups"]}},
    }
