import pytest
from assay.adapters.llm import ChatMessage, LLMRequest
from assay.adapters.llm_local import LocalLLM, lexical_similarity
from assay.services.assessment import JudgeOutputInvalid, assess, judge_prompt, parse_judgement


def test_judge_reply_in_a_code_fence_with_prose_is_parsed():
    text = 'Sure! ```json\n{"similarity": 0.75, "equivalent": true, "note": "it\'s fine"}\n```'
    assert parse_judgement(text)["similarity"] == 0.75


@pytest.mark.parametrize(
    "reply",
    [
        "no json here",
        '{"equivalent": true}',
        '{"similarity": "high"}',
        '{"similarity": 1.5}',
        "{broken",
    ],
)
def test_replies_without_a_valid_similarity_are_invalid(reply):
    with pytest.raises(JudgeOutputInvalid):
        parse_judgement(reply)


def test_local_judge_scores_identical_high_and_unrelated_low():
    judge = LocalLLM("judge")
    same = assess(judge, None, "Paris is the capital of France", "The capital of France is Paris")
    other = assess(judge, None, "Bananas are yellow", "The capital of France is Paris")
    assert same["similarity"] > 0.5 > other["similarity"]
    assert same["judge"].startswith("local:")
    assert "offline" in same["similarity_explanation"]


def test_local_model_is_deterministic_and_labelled():
    llm = LocalLLM("m")
    req = LLMRequest(messages=[ChatMessage(role="user", content="Explain qubits")])
    a, b = llm.generate(req), llm.generate(req)
    assert a.text == b.text and "[local:m]" in a.text
    streamed = "".join(chunk.text for chunk in llm.stream(req))
    assert streamed == a.text
    assert a.usage.total_tokens == a.usage.prompt_tokens + a.usage.completion_tokens > 0


def test_lexical_similarity_bounds():
    assert lexical_similarity("", "") == 1.0
    assert lexical_similarity("a b", "") == 0.0
    assert lexical_similarity("a b c", "a b c") == 1.0


def test_prompt_carries_instructions_answer_and_golden():
    prompt = judge_prompt("Be strict.", "ans", "gold")
    assert (
        prompt.startswith("Be strict.")
        and "<statement>ans</statement>" in prompt
        and "gold" in prompt
    )
