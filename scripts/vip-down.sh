#! /bin/sh
# ucarp down script: called as "vip-down.sh INTERFACE ADDRESS [XPARAM]" when
# this host becomes BACKUP (and at start, unless --neutral).
exec 2> /dev/null
exec /sbin/ip addr del "$2"/32 dev "$1"
