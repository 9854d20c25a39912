module example.com/leaktests

go 1.26
