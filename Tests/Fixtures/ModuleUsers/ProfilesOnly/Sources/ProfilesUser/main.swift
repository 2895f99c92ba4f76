import PMPProfiles

let profile = try FoldedParser.parse("main;work;read 3\n")
print(profile.rendered(as: .pprof).count)
