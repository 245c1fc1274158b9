"""The safe Markdown subset: formatting works, and nothing from the text can become markup."""

import pytest

from service.ui.markdown import render_block, render_inline


def test_plain_text_is_only_escaped():
    assert render_inline("a < b & c") == "a &lt; b &amp; c"


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "**<script>alert(1)</script>**",
        "`<script>alert(1)</script>`",
        "[<script>x</script>](https://example.com)",
        '[x](https://example.com/"onmouseover="alert(1))',
        "<svg/onload=alert(1)>",
    ],
)
def test_markup_in_the_text_is_escaped_inside_any_formatting(attack):
    for rendered in (render_inline(attack), render_block(attack)):
        assert "<script" not in rendered and "<img" not in rendered and "<svg" not in rendered
        assert '"onmouseover' not in rendered


@pytest.mark.parametrize("href", ["javascript:alert(1)", "data:text/html,x", "//evil.example/", "vbscript:x",
                                  "/\\evil.example/", "/a\\..\\\\evil.example"])
def test_links_go_only_to_http_https_or_this_site(href):
    rendered = render_inline(f"[click]({href})")
    assert "<a " not in rendered and "[click]" in rendered


def test_inline_formatting_renders_emphasis_code_and_links():
    rendered = render_inline("**bold**, *em*, _em too_, `a_b*c`, [docs](https://example.com/a_b?x=1&y=2)")
    assert "<strong>bold</strong>" in rendered and "<em>em</em>" in rendered and "<em>em too</em>" in rendered
    assert "<code>a_b*c</code>" in rendered
    assert (
        '<a href="https://example.com/a_b?x=1&amp;y=2" rel="nofollow noopener noreferrer">docs</a>'
        in rendered
    )


def test_snake_case_names_are_not_emphasised():
    assert render_inline("call my_long_function_name now") == "call my_long_function_name now"


def test_blocks_render_paragraphs_headings_lists_and_code():
    rendered = render_block(
        "# Title\n\nFirst line\nsecond line\n\n- one\n- **two**\n\n1. first\n\n```\n<b>x</b>\n```"
    )
    assert "<h4>Title</h4>" in rendered
    assert "<p>First line\nsecond line</p>" in rendered
    assert "<ul>\n<li>one</li>\n<li><strong>two</strong></li>\n</ul>" in rendered
    assert "<ol>\n<li>first</li>\n</ol>" in rendered
    assert "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>" in rendered
