module github.com/gregor-kafka/producer

go 1.26
