@main struct Outpost { static func main() {} }
