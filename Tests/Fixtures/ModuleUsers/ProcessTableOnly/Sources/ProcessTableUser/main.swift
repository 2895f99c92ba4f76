import PMPProcessTable

let table = ProcessTable()
let handle = table.register(attributes: ["route": .string("/orders")])
try handle.setStatus("reading the order")
print(table.processes().count)
