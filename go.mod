module github.com/ucarp-go/ucarp

go 1.26.8
