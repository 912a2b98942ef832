"""Prompt features: the instruction is told apart from the payload; the shape is read."""

from __future__ import annotations

import json

import pytest

from tierwise.core.features import FILES_COUNT_CAP, PromptFeatures, split_words
from tierwise.core.request import RouteRequest
from tierwise.core.tokens import estimate_prompt_tokens, estimate_text_tokens


def features(text: str, **hints: object) -> PromptFeatures:
    return PromptFeatures.of(RouteRequest(text=text, **hints))  # type: ignore[arg-type]


# ---------------------------------------------------------------- instruction vs payload


def test_pasted_json_does_not_reach_the_instruction() -> None:
    payload = json.dumps(
        {"service": "billing", "security": {"tls": True, "level": "strict"}, "ports": [80, 443]},
        indent=2,
    )
    f = features(f"Reformat this JSON with two-space indentation:\n{payload}\n")
    assert "reformat" in f.words
    assert "security" not in f.words
    assert "tls" not in f.words


def test_single_line_pasted_json_does_not_reach_the_instruction() -> None:
    f = features('Sort the keys of this object:\n{"security": "high", "owner": "ops"}\n')
    assert {"sort", "keys"} <= f.words
    assert "security" not in f.words


def test_pasted_csv_does_not_reach_the_instruction() -> None:
    table = "name,role,security\nalice,admin,high\nbob,viewer,low\ncarol,editor,medium\n"
    f = features(f"Convert this CSV to a markdown table:\n{table}")
    assert {"convert", "markdown", "table"} <= f.words
    assert "security" not in f.words
    assert "alice" not in f.words


def test_pasted_yaml_does_not_reach_the_instruction() -> None:
    config = (
        "service:\n"
        "  name: billing\n"
        "  security: strict\n"
        "  replicas: 3\n"
        "  ports:\n"
        "    - 80\n"
        "    - 443\n"
    )
    f = features(f"Sort the keys in this YAML file:\n{config}")
    assert {"sort", "keys", "yaml"} <= f.words
    assert "security" not in f.words
    assert "billing" not in f.words


def test_fenced_code_is_payload_not_instruction() -> None:
    code = "def check_security(token):\n    return audit(token)\n"
    text = f"Add type hints to this function:\n```python\n{code}```\nKeep the names."
    f = features(text)
    assert {"add", "type", "hints", "keep", "names"} <= f.words
    assert "security" not in f.instruction
    assert "audit" not in f.words
    assert f.code_blocks == 1
    assert f.code_chars == len("python\n" + code)


def test_tilde_fences_are_code_too() -> None:
    f = features("Explain this:\n~~~\nexploit = vulnerable()\n~~~\n")
    assert "exploit" not in f.words
    assert f.code_blocks == 1


def test_instruction_is_lower_cased_and_split_on_punctuation_and_hyphens() -> None:
    f = features("Pretty-print THIS, please: it's Broken!")
    assert {"pretty", "print", "this", "please", "broken"} <= f.words
    assert f.normalized.startswith(" pretty print this ")
    assert f.normalized.endswith(" ")
    assert f.instruction_words == len(split_words(f.instruction))


def test_split_words_keeps_underscores_in_identifiers() -> None:
    assert split_words("rename snake_case to camelcase.") == [
        "rename",
        "snake_case",
        "to",
        "camelcase",
    ]


# ---------------------------------------------------------------- long prompts


def test_instruction_at_the_end_of_a_100kb_paste_is_found() -> None:
    row = '{"id": 1, "name": "security scanner", "enabled": true},\n'
    paste = "[\n" + row * (100_000 // len(row) + 1) + "]\n"
    f = features(paste + "Reformat the above as a markdown table.")
    assert len(paste) >= 100_000
    assert {"reformat", "markdown", "table"} <= f.words
    assert "security" not in f.words


def test_instruction_at_the_start_of_a_long_log_is_found() -> None:
    log = "2026-11-26T12:00:00Z INFO request served in 12ms status=200\n" * 3_000
    f = features("Summarize the errors in the following log.\n" + log)
    assert {"summarize", "errors", "log"} <= f.words


def test_keyword_window_is_bounded_on_huge_prose() -> None:
    middle = "the quick brown fox jumps over the lazy dog and keeps running far away\n" * 5_000
    f = features("Translate this story.\n" + middle + "Keep it short.")
    assert {"translate", "story", "keep", "short"} <= f.words
    assert len(f.instruction) < 5_000  # head and tail only, not 350 KB of prose
    assert f.chars == len("Translate this story.\n" + middle + "Keep it short.")


# ---------------------------------------------------------------- files, traces, questions


def test_the_same_file_named_twice_counts_once() -> None:
    f = features("Fix src/app.py, then update src/app.py and tests/test_app.py to match.")
    assert f.files_mentioned == 2


def test_files_are_counted_across_extensions() -> None:
    text = "Touch api/handlers.go, web/App.tsx, Cargo.lock, deploy/values.yaml and db/schema.sql."
    assert features(text).files_mentioned == 5


def test_prose_without_paths_names_no_files() -> None:
    assert features("Make the login page load faster for mobile users.").files_mentioned == 0


def test_file_count_is_capped() -> None:
    names = " ".join(f"src/module_{i}.py" for i in range(FILES_COUNT_CAP * 3))
    f = features(f"Refactor these modules: {names}")
    assert f.files_mentioned == FILES_COUNT_CAP


PYTHON_TRACE = """The import job crashes with this:
Traceback (most recent call last):
  File "/srv/app/jobs.py", line 41, in run
    total = sum(rows) / len(rows)
ZeroDivisionError: division by zero
"""
JAVA_TRACE = """Our service throws this on startup:
Exception in thread "main" java.lang.NullPointerException: config is null
\tat com.example.app.Server.start(Server.java:57)
\tat com.example.app.Main.main(Main.java:12)
"""
GO_PANIC = """The worker died:
panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.process(...)
\t/srv/worker/main.go:23 +0x1d
exit status 2
"""
RUST_PANIC = """The CLI aborts when the config file is empty:
thread 'main' panicked at src/config.rs:88:14:
called `Option::unwrap()` on a `None` value
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
"""
SEGFAULT = """My C program dies right after loading the plugin list:
$ ./loader plugins.conf
Segmentation fault (core dumped)
It happens every time, even with an empty list.
"""
PROSE = """We are planning next quarter's roadmap for the platform team.
Please draft three goals about reliability, onboarding and documentation, each with a metric.
"""


@pytest.mark.parametrize(
    "text",
    [PYTHON_TRACE, JAVA_TRACE, GO_PANIC, RUST_PANIC, SEGFAULT],
    ids=["python", "java", "go", "rust-panic", "segfault"],
)
def test_stack_traces_are_detected(text: str) -> None:
    assert features(text).stack_trace


def test_plain_prose_is_not_a_stack_trace() -> None:
    assert not features(PROSE).stack_trace


def test_a_trace_at_the_end_of_a_huge_paste_is_detected() -> None:
    filler = "INFO worker heartbeat ok\n" * 10_000
    assert features(filler + PYTHON_TRACE).stack_trace


@pytest.mark.parametrize(
    "text",
    [
        "What is a mutex?",
        "how does garbage collection work in go",
        "Can you explain the difference between TCP and UDP",
        "Wie funktioniert ein Mutex?",
        "Warum ist mein Build so langsam",
        "¿Cómo funciona un mutex?",
        "Qué es una corrutina",
        "什么是互斥锁",
        "为什么我的程序这么慢",
        "互斥锁是什么？",
    ],
)
def test_questions_are_recognised_in_several_languages(text: str) -> None:
    assert features(text).question


@pytest.mark.parametrize(
    "text",
    [
        "Reformat this file.",
        "Add a docstring to every public function",
        "Formatiere diese Datei.",
        "Ordena las claves del JSON.",
        "把这个文件格式化",
    ],
)
def test_instructions_are_not_questions(text: str) -> None:
    assert not features(text).question


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Reformat this file", False),
        ("Formatea el código", True),
        ("把这个文件格式化", True),
        ("Übersetze das bitte", True),
    ],
)
def test_non_ascii_flag(text: str, expected: bool) -> None:
    assert features(text).non_ascii is expected


def test_non_ascii_payload_alone_does_not_set_the_flag() -> None:
    f = features('Sort the keys:\n{"名前": "東京", "b": 1}\n')
    assert not f.non_ascii


# ---------------------------------------------------------------- sizes


def test_sizes_and_token_estimates() -> None:
    text = "Fix the flaky test.\nIt fails one run in ten."
    f = features(text, system="You are a careful engineer.")
    assert f.chars == len(text)
    assert f.lines == 2
    assert f.prompt_tokens == estimate_text_tokens(text)
    assert f.context_tokens == estimate_prompt_tokens(["You are a careful engineer.", text])


def test_given_context_tokens_win_over_the_estimate() -> None:
    assert features("Fix it", context_tokens=123_456).context_tokens == 123_456
