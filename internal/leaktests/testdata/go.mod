module example.com/leaktests

go 1.26

require github.com/stretchr/testify v1.8.0

// testify's assert, as it stood in v1.8, without the network (see testify/).
replace github.com/stretchr/testify => ./testify
