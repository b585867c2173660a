"""WeChat: mini-program login (jscode2session)."""
