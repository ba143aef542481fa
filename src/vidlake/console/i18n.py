"""The console's message catalogue (简体中文 and English), chosen from the ``lang`` cookie, else
``Accept-Language``; dates (Unix seconds) and durations (seconds) per locale."""

from __future__ import annotations

import time

LANGS = ("en", "zh")
LANG_COOKIE = "vidlake_lang"

MESSAGES: dict[str, dict[str, str]] = {
    "title": {"en": "Vidlake console", "zh": "Vidlake 控制台"},
    "sign_in": {"en": "Sign in", "zh": "登录"},
    "sign_out": {"en": "Sign out", "zh": "退出登录"},
    "with_token": {"en": "With an access token", "zh": "使用访问令牌"},
    "with_user": {"en": "With email and password", "zh": "使用邮箱和密码"},
    "token_id": {"en": "Token id", "zh": "令牌 ID"},
    "token_secret": {"en": "Token secret", "zh": "令牌密钥"},
    "email": {"en": "Email", "zh": "邮箱"},
    "password": {"en": "Password", "zh": "密码"},
    "bad_credentials": {"en": "Wrong credentials.", "zh": "凭据错误。"},
    "assets": {"en": "Assets", "zh": "视频资源"},
    "status": {"en": "Status", "zh": "状态"},
    "duration": {"en": "Duration", "zh": "时长"},
    "created": {"en": "Created", "zh": "创建时间"},
    "search": {"en": "Search", "zh": "搜索"},
    "all": {"en": "All", "zh": "全部"},
    "delete": {"en": "Delete", "zh": "删除"},
    "confirm_delete": {"en": "Delete this asset?", "zh": "确定删除此视频资源？"},
    "none": {"en": "Nothing here yet.", "zh": "暂无内容。"},
    "read_only": {"en": "Read-only", "zh": "只读"},
    "next": {"en": "Next", "zh": "下一页"},
    "prev": {"en": "Previous", "zh": "上一页"},
    "language": {"en": "Language", "zh": "语言"},
    "forbidden": {"en": "This sign-in is read-only.", "zh": "当前登录为只读。"},
    "csrf": {"en": "The form expired; reload the page.", "zh": "表单已失效，请刷新页面。"},
    "ready": {"en": "ready", "zh": "就绪"},
    "playback_ids": {"en": "Playback ids", "zh": "播放 ID"},
    "embed": {"en": "Embed code", "zh": "嵌入代码"},
    "tracks": {"en": "Tracks", "zh": "轨道"},
    "static_mp4": {"en": "Static MP4 files", "zh": "静态 MP4 文件"},
    "player": {"en": "Player", "zh": "播放器"},
    "errors": {"en": "Errors", "zh": "错误"},
    "upload": {"en": "Upload", "zh": "上传"},
    "drop_here": {"en": "Drop video files here, or choose them", "zh": "将视频文件拖放到此处，或选择文件"},
    "cancel": {"en": "Cancel", "zh": "取消"},
    "uploaded": {"en": "uploaded", "zh": "已上传"},
    "cancelled": {"en": "cancelled", "zh": "已取消"},
    "failed": {"en": "failed", "zh": "失败"},
    "live_streams": {"en": "Live streams", "zh": "直播流"},
    "create_stream": {"en": "Create live stream", "zh": "创建直播流"},
    "stream_key": {"en": "Stream key", "zh": "推流密钥"},
    "reveal": {"en": "Reveal", "zh": "显示"},
    "reset_key": {"en": "Reset key", "zh": "重置密钥"},
    "idle": {"en": "idle", "zh": "空闲"},
    "active": {"en": "active", "zh": "直播中"},
    "disabled": {"en": "disabled", "zh": "已停用"},
    "preparing": {"en": "preparing", "zh": "处理中"},
    "errored": {"en": "errored", "zh": "出错"},
    "analytics": {"en": "Viewer analytics", "zh": "观看体验分析"},
    "jobs": {"en": "Jobs", "zh": "任务"},
    "kind": {"en": "Kind", "zh": "类型"},
    "progress": {"en": "Progress", "zh": "进度"},
    "attempts": {"en": "Attempts", "zh": "尝试次数"},
    "error": {"en": "Error", "zh": "错误"},
    "queued": {"en": "queued", "zh": "排队中"},
    "running": {"en": "running", "zh": "运行中"},
    "succeeded": {"en": "succeeded", "zh": "成功"},
    "dead": {"en": "dead", "zh": "已终止"},
    "cancel_job": {"en": "Cancel", "zh": "取消任务"},
    "tokens": {"en": "Access tokens", "zh": "访问令牌"},
    "name": {"en": "Name", "zh": "名称"},
    "permission": {"en": "Permission", "zh": "权限"},
    "full": {"en": "full", "zh": "完全"},
    "read_only_perm": {"en": "read-only", "zh": "只读"},
    "create_token": {"en": "Create token", "zh": "创建令牌"},
    "revoke": {"en": "Revoke", "zh": "吊销"},
    "revoked": {"en": "revoked", "zh": "已吊销"},
    "secret_once": {"en": "Copy the secret now: it is not shown again.", "zh": "请立即复制密钥：它不会再次显示。"},
    "webhooks": {"en": "Webhooks", "zh": "Webhook"},
    "add_webhook": {"en": "Add endpoint", "zh": "添加端点"},
    "send_test": {"en": "Send test event", "zh": "发送测试事件"},
    "deliveries": {"en": "Delivery log", "zh": "投递记录"},
    "event": {"en": "Event", "zh": "事件"},
    "retry": {"en": "Retry", "zh": "重试"},
    "pending": {"en": "pending", "zh": "待投递"},
    "delivered": {"en": "delivered", "zh": "已投递"},
    "usage": {"en": "Usage", "zh": "用量"},
    "day": {"en": "Day (UTC)", "zh": "日期（UTC）"},
    "encoded_minutes": {"en": "Encoded minutes", "zh": "转码分钟数"},
    "stored_minutes": {"en": "Stored minutes", "zh": "存储分钟数"},
    "delivered_minutes": {"en": "Delivered minutes", "zh": "分发分钟数"},
    "bad_url": {"en": "That URL cannot receive webhooks", "zh": "该 URL 无法接收 Webhook"},
}


def choose(cookie: str | None, accept_language: str | None) -> str:
    """``en`` or ``zh``: the cookie if valid, else the first supported Accept-Language entry."""
    if cookie in LANGS:
        return str(cookie)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def t(lang: str, key: str) -> str:
    """The message ``key`` in ``lang``."""
    return MESSAGES[key][lang if lang in LANGS else "en"]


def fmt_date(lang: str, ts: float) -> str:
    """A UTC instant: ``2026-12-03 08:30`` (en) or ``2026年12月03日 08:30`` (zh)."""
    tm = time.gmtime(ts)
    return time.strftime("%Y年%m月%d日 %H:%M" if lang == "zh" else "%Y-%m-%d %H:%M", tm) + " UTC"


def fmt_duration(lang: str, seconds: float | None) -> str:
    """``m:ss`` in English, ``m分ss秒`` in Chinese; ``-`` when unknown."""
    if seconds is None:
        return "-"
    m, s = divmod(round(seconds), 60)
    return f"{m}分{s:02d}秒" if lang == "zh" else f"{m}:{s:02d}"
