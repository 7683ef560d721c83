"""The API documentation page in a real browser: Swagger UI (bundled by the front-end build) draws the
document in Chinese under the page's Content-Security-Policy, and "try it out" sends a request as the
logged-in user."""

from __future__ import annotations


def test_swagger_ui_lists_the_api_and_tries_a_call(app, browser_page, output_dir, console_errors):
    page = browser_page("hp_officer")
    page.goto("/api-docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    text = page.locator("#swagger-ui").inner_text()
    assert "督查系统 API" in text and "发起流程" in text and "退回" in text and "上传附件" in text
    page.click('[id="operations-账号-me"]')
    page.click('[id="operations-账号-me"] .try-out__btn')
    page.click('[id="operations-账号-me"] .execute')
    page.wait_for_selector('[id="operations-账号-me"] .response .highlight-code', timeout=20_000)
    assert "黄浦队员" in page.locator('[id="operations-账号-me"] .responses-wrapper').inner_text()
    page.screenshot(path=str(output_dir / "api-docs.png"), full_page=False)
    assert not [e for e in console_errors if "Content Security Policy" in e or "dist/" in e], console_errors
