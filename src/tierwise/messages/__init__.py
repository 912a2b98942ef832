"""The Messages API as routing sees it: a body parsed once (``parse``), the caller's hints
(``hints``), aliases, rewrite mode and conversation pins (``routing``, ``pinning``), what a
target model rejects (``sanitize``), SSE (``sse``) and Anthropic's error bodies
(``api_errors``). Shared by the proxy and the library client; no I/O."""
