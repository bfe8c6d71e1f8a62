"""The sandbox's demo accounts; config/providers.toml defaults to these so the embedded demo works."""

KUAIDI100_CUSTOMER = "SANDBOXCUSTOMER0001"
KUAIDI100_KEY = "sandbox-kuaidi100-key"
KUAIDI100_SALT = "sandbox-kuaidi100-salt"
KUAIDI100_EXPIRED_CUSTOMER = "SANDBOXEXPIRED0001"  # answers 601 key 已过期
KDNIAO_EBUSINESS_ID = "1000001"
KDNIAO_APP_KEY = "sandbox-kdniao-appkey"
TRACK17_KEY = "sandbox-17track-key"
