module benchbindings

go 1.19

require mserve v0.0.0

replace mserve => ../../../bindings/go
