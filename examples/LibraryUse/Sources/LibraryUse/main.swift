import ImageCodecs
import ImageFilters

// LibraryUse INPUT OUTPUT: writes the Sobel edges of the PNG or JPEG INPUT
// to OUTPUT (.png or .jpg), the same size, borders mirrored.
let arguments = CommandLine.arguments
guard arguments.count == 3 else { fatalError("usage: LibraryUse INPUT OUTPUT") }
let photo = try ImageFile.read(arguments[1])
let sobel = try BuiltinKernel.sobel.operation()
let options = FilterOptions(padding: .same, border: .reflect)
let edges = try apply(sobel, to: photo, options: options)
try ImageFile.write(edges, to: arguments[2])
print("wrote \(arguments[2]): \(edges.width)×\(edges.height)")
