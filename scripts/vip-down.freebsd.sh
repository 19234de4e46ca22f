#! /bin/sh
# FreeBSD down script.
exec /sbin/ifconfig "$1" -alias "$2"
