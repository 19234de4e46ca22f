#! /bin/sh
# FreeBSD up script: the kernel announces the address when it is added.
exec /sbin/ifconfig "$1" alias "$2" netmask 255.255.255.255
