#! /bin/sh
# ucarp up script: called as "vip-up.sh INTERFACE ADDRESS [XPARAM]" when this
# host becomes MASTER. ucarp-go also sets CARP_STATE, CARP_PREVIOUS_STATE,
# CARP_VHID, CARP_INTERFACE, CARP_VIP and CARP_REASON.
# Without any script, ucarp-go adds and removes the address itself.
exec 2> /dev/null
exec /sbin/ip addr add "$2"/32 dev "$1"
