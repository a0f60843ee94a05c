module mserve

go 1.19
