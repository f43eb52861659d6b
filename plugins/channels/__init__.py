"""The built-in notification channels (email, SMS, generic webhook, WeCom, DingTalk, Feishu).

Each module exposes ``channel``, registered under the ``stockwarn.channels`` entry-point group in
pyproject.toml exactly as a third-party plugin would be; they share ``http`` for outbound calls.
"""
