"""Publishing: the one use case "publish this message now, to these channels"."""
