package config_test

import (
	"fmt"
	"io/fs"

	"github.com/ucarp-go/ucarp/config"
)

func ExampleParse() {
	const file = `interface = "eth0"
srcip = "192.0.2.11"
passfile = "/etc/ucarp/cluster.pass"

[[group]]
name = "web"
vhid = 3
addr = "192.0.2.100/24"
advskew = 300

[[group]]
name = "web"
vhid = 3
addr = "192.0.2.101"
preemt = true
`
	readFile := func(name string) ([]byte, fs.FileMode, error) {
		return []byte("s3cret\n"), 0o600, nil
	}
	_, err := config.Parse("/etc/ucarp-go.conf", []byte(file), readFile)
	fmt.Println(err)
	// Output:
	// /etc/ucarp-go.conf:9: group "web" (eth0 vhid 3): advskew: 300 is out of range 0-255
	// /etc/ucarp-go.conf:11: group "web" (eth0 vhid 3): the same interface and vhid as group "web" at line 5
	// /etc/ucarp-go.conf:12: group "web" (eth0 vhid 3): name: "web" is also the name of the group at line 5
	// /etc/ucarp-go.conf:15: group "web" (eth0 vhid 3): preemt: unknown key (did you mean "preempt"?)
}
