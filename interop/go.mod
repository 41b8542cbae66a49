module github.com/gregor-kafka/producer/interop

go 1.26

replace github.com/gregor-kafka/producer => ../
