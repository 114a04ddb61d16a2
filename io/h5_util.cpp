// HDF5 helpers: typed, checked access to datasets and attributes; errors as triseg errors.
#include "io/h5_util.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "common/error.h"

namespace triseg::io::h5 {
namespace {

/// Element types: fixed-width little-endian in the file, native in memory.
template <typename T> struct Elem;
#define TRISEG_H5_ELEM(T, FILE_TYPE, MEM_TYPE, NAME)                                               \
    template <> struct Elem<T> {                                                                   \
        static const H5::PredType& file() { return H5::PredType::FILE_TYPE; }                      \
        static const H5::PredType& mem() { return H5::PredType::MEM_TYPE; }                        \
        static constexpr const char* kName = NAME;                                                 \
    };
TRISEG_H5_ELEM(int8_t, STD_I8LE, NATIVE_INT8, "int8")
TRISEG_H5_ELEM(uint8_t, STD_U8LE, NATIVE_UINT8, "uint8")
TRISEG_H5_ELEM(int16_t, STD_I16LE, NATIVE_INT16, "int16")
TRISEG_H5_ELEM(uint16_t, STD_U16LE, NATIVE_UINT16, "uint16")
TRISEG_H5_ELEM(int32_t, STD_I32LE, NATIVE_INT32, "int32")
TRISEG_H5_ELEM(uint32_t, STD_U32LE, NATIVE_UINT32, "uint32")
TRISEG_H5_ELEM(int64_t, STD_I64LE, NATIVE_INT64, "int64")
TRISEG_H5_ELEM(uint64_t, STD_U64LE, NATIVE_UINT64, "uint64")
TRISEG_H5_ELEM(float, IEEE_F32LE, NATIVE_FLOAT, "float32")
TRISEG_H5_ELEM(double, IEEE_F64LE, NATIVE_DOUBLE, "float64")
#undef TRISEG_H5_ELEM

thread_local const H5Silence* g_current_silence = nullptr;

/// What HDF5 says about `e`, with the innermost message when an H5Silence is alive.
std::string detail_of(const H5::Exception& e) {
    const H5Silence* silence = H5Silence::current();
    return silence != nullptr ? silence->describe(e) : e.getFuncName() + ": " + e.getDetailMsg();
}

/// Link and attribute creation order tracked and indexed on a file or group creation list.
void track_order(hid_t create_plist) {
    const unsigned flags = H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED;
    if (H5Pset_link_creation_order(create_plist, flags) < 0 ||
        H5Pset_attr_creation_order(create_plist, flags) < 0) {
        throw H5::PropListIException("track_order", "H5Pset_*_creation_order failed");
    }
}

H5::DataSpace make_space(const Dims& dims) {
    return dims.empty() ? H5::DataSpace(H5S_SCALAR)
                        : H5::DataSpace(static_cast<int>(dims.size()), dims.data());
}

std::string dataset_object(const Node& parent, const std::string& name) {
    return "dataset '" + parent.child(name) + "'";
}

std::string attribute_object(const Node& node, const std::string& name) {
    return "attribute '" + name + "' of '" + node.path + "'";
}

/// Checks that `parent` has a link `name` to an object of `type`; `kind` names it.
void require_link(const Node& parent, const std::string& name, H5O_type_t type, const char* kind) {
    const std::string path = parent.child(name);
    TRISEG_CHECK(has_link(parent, name), InputError,
                 parent.file << ": missing " << kind << " '" << path << "'");
    TRISEG_CHECK(parent.group.childObjType(name) == type, InputError,
                 parent.file << ": '" << path << "' is not a " << kind);
}

/// `object` has the element type `type` (any byte order) and exactly shape `dims`.
void check_array(const Node& node,
                 const std::string& object,
                 const H5::DataType& file_type,
                 const H5::DataSpace& space,
                 const char* type,
                 const Dims& dims) {
    const std::string got_type = type_name(file_type);
    TRISEG_CHECK(got_type == type, InputError,
                 node.file << ": " << object << " has type " << got_type << ", expected " << type);
    const Dims got = shape(space);
    TRISEG_CHECK(got == dims, InputError,
                 node.file << ": " << object << " has shape " << shape_string(got) << ", expected "
                           << shape_string(dims));
}

H5::Attribute open_attribute(const Node& node, const std::string& name) {
    TRISEG_CHECK(has_attribute(node, name), InputError,
                 node.file << ": missing " << attribute_object(node, name));
    return node.group.openAttribute(name);
}

/// A scalar (or one-element) attribute of class `cls`; `kind` names the class in messages.
H5::Attribute open_scalar_attribute(const Node& node,
                                    const std::string& name,
                                    H5T_class_t cls,
                                    const char* kind) {
    const std::string object = attribute_object(node, name);
    H5::Attribute a = open_attribute(node, name);
    const H5::DataType type = a.getDataType();
    TRISEG_CHECK(type.getClass() == cls, InputError,
                 node.file << ": " << object << " has type " << type_name(type) << ", expected "
                           << kind);
    const hssize_t n = a.getSpace().getSimpleExtentNpoints();
    TRISEG_CHECK(n == 1, InputError,
                 node.file << ": " << object << " holds " << n << " values, expected one " << kind);
    return a;
}

/// `value` (read as float64) as float32, when that is exact (NaN passes).
float to_float32(const Node& node, const std::string& object, double value) {
    const auto narrow = static_cast<float>(value);
    TRISEG_CHECK(std::isnan(value) || static_cast<double>(narrow) == value, InputError,
                 node.file << ": " << object << " is " << std::setprecision(17) << value
                           << ", which is not a float32 value (store it as float32)");
    return narrow;
}

H5::StrType utf8_string() {
    H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
    type.setCset(H5T_CSET_UTF8);
    return type;
}

} // namespace

// -- types and shapes ---------------------------------------------------------------------------

std::string type_name(const H5::DataType& type) {
    const hid_t id = type.getId();
    const std::string bits = std::to_string(H5Tget_size(id) * 8);
    switch (H5Tget_class(id)) {
    case H5T_INTEGER:
        return (H5Tget_sign(id) == H5T_SGN_NONE ? "uint" : "int") + bits;
    case H5T_FLOAT:
        return "float" + bits;
    case H5T_STRING:
        return "string";
    case H5T_COMPOUND:
        return "compound";
    case H5T_ARRAY:
        return "array";
    case H5T_VLEN:
        return "vlen";
    case H5T_ENUM:
        return "enum";
    default:
        return "an unsupported HDF5 type";
    }
}

std::string shape_string(const Dims& dims) {
    std::ostringstream os;
    os << "[";
    for (size_t i = 0; i < dims.size(); ++i) {
        os << (i ? ", " : "") << dims[i];
    }
    os << "]";
    return os.str();
}

Dims shape(const H5::DataSpace& space) {
    const int rank = space.getSimpleExtentNdims();
    Dims dims(static_cast<size_t>(std::max(rank, 0)));
    if (rank > 0) {
        space.getSimpleExtentDims(dims.data());
    }
    return dims;
}

hsize_t num_elements(const Dims& dims) {
    hsize_t n = 1;
    for (hsize_t d : dims) {
        n *= d;
    }
    return n;
}

// -- errors -------------------------------------------------------------------------------------

H5Silence::H5Silence() : outer_(g_current_silence) {
    H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
    H5Eset_auto2(H5E_DEFAULT, &H5Silence::record, this);
    g_current_silence = this;
}

H5Silence::~H5Silence() {
    H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_);
    g_current_silence = outer_;
}

const H5Silence* H5Silence::current() {
    return g_current_silence;
}

std::string H5Silence::describe(const H5::Exception& e) const {
    std::string msg = e.getFuncName() + ": " + e.getDetailMsg();
    if (!innermost_.empty()) {
        msg += " (" + innermost_ + ")";
    }
    return msg;
}

herr_t H5Silence::record(hid_t stack, void* self) {
    auto* silence = static_cast<H5Silence*>(self);
    silence->innermost_.clear();
    H5Ewalk2(
        stack, H5E_WALK_UPWARD,
        [](unsigned n, const H5E_error2_t* err, void* out) -> herr_t {
            if (n == 0 && err != nullptr && err->desc != nullptr) {
                *static_cast<std::string*>(out) = err->desc;
            }
            return 0;
        },
        &silence->innermost_);
    return 0;
}

void rethrow(const H5::Exception& e,
             Access access,
             const std::string& file,
             const std::string& object) {
    const std::string detail = detail_of(e);
    if (access == Access::Write) {
        TRISEG_THROW(IoError,
                     (object.empty() ? "cannot write " + file : file + ": cannot write " + object)
                         << ": " << detail);
    }
    TRISEG_THROW(InputError,
                 (object.empty() ? "cannot read " + file : file + ": cannot read " + object)
                     << " (corrupt file?): " << detail);
}

// -- files and groups ---------------------------------------------------------------------------

std::string Node::child(const std::string& name) const {
    return path == "/" ? "/" + name : path + "/" + name;
}

File::File(H5::H5File h5, Node root, Access access)
    : h5_(std::move(h5)), root_(std::move(root)), access_(access) {}

File File::create(const std::string& path, const std::string& file) {
    try {
        H5::FileCreatPropList fcpl;
        track_order(fcpl.getId());
        H5::H5File h5(path, H5F_ACC_TRUNC, fcpl);
        Node root{h5.openGroup("/"), "/", file};
        return File(std::move(h5), std::move(root), Access::Write);
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Write, file, "");
    }
}

File File::open(const std::string& path, const std::string& file) {
    std::error_code ec;
    TRISEG_CHECK(!std::filesystem::is_directory(path, ec), IoError,
                 "cannot read " << file << ": it is a folder");
    {
        errno = 0;
        const std::ifstream probe(path, std::ios::binary);
        TRISEG_CHECK(probe.good(), IoError,
                     "cannot read " << file << ": "
                                    << (errno ? std::strerror(errno) : "open failed"));
    }
    bool is_hdf5 = false;
    try {
        is_hdf5 = H5::H5File::isHdf5(path);
    } catch (const H5::Exception& e) {
        TRISEG_THROW(IoError, "cannot read " << file << ": " << detail_of(e));
    }
    TRISEG_CHECK(is_hdf5, InputError, file << " is not an HDF5 file");
    try {
        H5::H5File h5(path, H5F_ACC_RDONLY);
        Node root{h5.openGroup("/"), "/", file};
        return File(std::move(h5), std::move(root), Access::Read);
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, file, "");
    }
}

void File::close() {
    try {
        root_.group.close();
        h5_.close();
    } catch (const H5::Exception& e) {
        rethrow(e, access_, root_.file, "");
    }
}

Node create_group(const Node& parent, const std::string& name) {
    Node node{H5::Group(), parent.child(name), parent.file};
    try {
        const H5::PropList gcpl(H5P_GROUP_CREATE);
        track_order(gcpl.getId());
        const hid_t id =
            H5Gcreate2(parent.group.getId(), name.c_str(), H5P_DEFAULT, gcpl.getId(), H5P_DEFAULT);
        if (id < 0) {
            throw H5::GroupIException("create_group", "H5Gcreate2 failed");
        }
        node.group = H5::Group(id); // takes its own reference
        H5Gclose(id);
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Write, parent.file, "group '" + node.path + "'");
    }
    return node;
}

Node open_group(const Node& parent, const std::string& name) {
    const std::string path = parent.child(name);
    try {
        require_link(parent, name, H5O_TYPE_GROUP, "group");
        return Node{parent.group.openGroup(name), path, parent.file};
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, parent.file, "group '" + path + "'");
    }
}

bool has_link(const Node& parent, const std::string& name) {
    return H5Lexists(parent.group.getId(), name.c_str(), H5P_DEFAULT) > 0;
}

hsize_t num_links(const Node& node) {
    try {
        return node.group.getNumObjs();
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, node.file, "group '" + node.path + "'");
    }
}

// -- datasets -----------------------------------------------------------------------------------

template <typename T>
void write_dataset(const Node& parent,
                   const std::string& name,
                   const Dims& dims,
                   const std::vector<T>& data) {
    const std::string object = dataset_object(parent, name);
    if (data.size() != num_elements(dims)) {
        throw std::invalid_argument("h5::write_dataset: " + object + " of shape " +
                                    shape_string(dims) + " given " + std::to_string(data.size()) +
                                    " values");
    }
    try {
        const H5::DataSet ds = parent.group.createDataSet(name, Elem<T>::file(), make_space(dims));
        if (!data.empty()) {
            ds.write(data.data(), Elem<T>::mem());
        }
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Write, parent.file, object);
    }
}

template <typename T>
std::vector<T> read_dataset(const Node& parent, const std::string& name, const Dims& dims) {
    const std::string object = dataset_object(parent, name);
    try {
        require_link(parent, name, H5O_TYPE_DATASET, "dataset");
        const H5::DataSet ds = parent.group.openDataSet(name);
        check_array(parent, object, ds.getDataType(), ds.getSpace(), Elem<T>::kName, dims);
        std::vector<T> data(num_elements(dims));
        if (!data.empty()) {
            ds.read(data.data(), Elem<T>::mem());
        }
        return data;
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, parent.file, object);
    }
}

void write_string_dataset(const Node& parent,
                          const std::string& name,
                          const std::vector<std::string>& values) {
    std::vector<const char*> ptrs;
    ptrs.reserve(values.size());
    for (const std::string& v : values) {
        ptrs.push_back(v.c_str());
    }
    const hsize_t n = ptrs.size();
    try {
        const H5::StrType type = utf8_string();
        const H5::DataSet ds = parent.group.createDataSet(name, type, H5::DataSpace(1, &n));
        if (n > 0) {
            ds.write(ptrs.data(), type);
        }
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Write, parent.file, dataset_object(parent, name));
    }
}

std::vector<std::string> read_string_dataset(const Node& parent,
                                             const std::string& name,
                                             hsize_t min_size,
                                             hsize_t max_size) {
    const std::string object = dataset_object(parent, name);
    try {
        require_link(parent, name, H5O_TYPE_DATASET, "dataset");
        const H5::DataSet ds = parent.group.openDataSet(name);
        const H5::DataType type = ds.getDataType();
        TRISEG_CHECK(type.getClass() == H5T_STRING, InputError,
                     parent.file << ": " << object << " has type " << type_name(type)
                                 << ", expected string");
        const H5::DataSpace space = ds.getSpace();
        const Dims dims = shape(space);
        TRISEG_CHECK(dims.size() == 1 && dims[0] >= min_size && dims[0] <= max_size, InputError,
                     parent.file << ": " << object << " has shape " << shape_string(dims)
                                 << ", expected [n] with " << min_size << " <= n <= " << max_size);
        std::vector<std::string> values;
        if (dims[0] == 0) {
            return values;
        }
        const H5::StrType mem = ds.getStrType();
        if (mem.isVariableStr()) {
            std::vector<char*> buf(dims[0], nullptr);
            ds.read(buf.data(), mem);
            for (const char* s : buf) {
                values.emplace_back(s == nullptr ? "" : s);
            }
            H5Dvlen_reclaim(mem.getId(), space.getId(), H5P_DEFAULT, buf.data());
        } else {
            const size_t len = mem.getSize();
            std::vector<char> buf(dims[0] * len);
            ds.read(buf.data(), mem);
            for (hsize_t i = 0; i < dims[0]; ++i) {
                values.emplace_back(buf.data() + i * len, strnlen(buf.data() + i * len, len));
            }
        }
        return values;
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, parent.file, object);
    }
}

// -- attributes ---------------------------------------------------------------------------------

bool has_attribute(const Node& node, const std::string& name) {
    return H5Aexists(node.group.getId(), name.c_str()) > 0;
}

template <typename T> void write_attribute(const Node& node, const std::string& name, T value) {
    try {
        node.group.createAttribute(name, Elem<T>::file(), H5::DataSpace(H5S_SCALAR))
            .write(Elem<T>::mem(), &value);
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Write, node.file, attribute_object(node, name));
    }
}

template <typename T>
void write_attribute(const Node& node, const std::string& name, const std::vector<T>& values) {
    try {
        const hsize_t n = values.size();
        const H5::Attribute a =
            node.group.createAttribute(name, Elem<T>::file(), H5::DataSpace(1, &n));
        if (n > 0) {
            a.write(Elem<T>::mem(), values.data());
        }
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Write, node.file, attribute_object(node, name));
    }
}

void write_string_attribute(const Node& node, const std::string& name, const std::string& value) {
    try {
        const H5::StrType type = utf8_string();
        node.group.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, value);
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Write, node.file, attribute_object(node, name));
    }
}

template <typename T>
std::vector<T> read_attribute(const Node& node, const std::string& name, const Dims& dims) {
    const std::string object = attribute_object(node, name);
    try {
        const H5::Attribute a = open_attribute(node, name);
        check_array(node, object, a.getDataType(), a.getSpace(), Elem<T>::kName, dims);
        std::vector<T> values(num_elements(dims));
        if (!values.empty()) {
            a.read(Elem<T>::mem(), values.data());
        }
        return values;
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, node.file, object);
    }
}

std::string read_string_attribute(const Node& node, const std::string& name) {
    try {
        const H5::Attribute a = open_scalar_attribute(node, name, H5T_STRING, "string");
        std::string value;
        a.read(a.getStrType(), value);
        return value;
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, node.file, attribute_object(node, name));
    }
}

int64_t read_int_attribute(const Node& node, const std::string& name, int64_t lo, int64_t hi) {
    int64_t value = 0;
    try {
        open_scalar_attribute(node, name, H5T_INTEGER, "integer")
            .read(H5::PredType::NATIVE_INT64, &value);
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, node.file, attribute_object(node, name));
    }
    TRISEG_CHECK(value >= lo && value <= hi, InputError,
                 node.file << ": " << attribute_object(node, name) << " is " << value
                           << ", expected a value in [" << lo << ", " << hi << "]");
    return value;
}

double read_float_attribute(const Node& node, const std::string& name) {
    double value = 0;
    try {
        open_scalar_attribute(node, name, H5T_FLOAT, "float")
            .read(H5::PredType::NATIVE_DOUBLE, &value);
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, node.file, attribute_object(node, name));
    }
    return value;
}

float read_float32_attribute(const Node& node, const std::string& name) {
    return to_float32(node, attribute_object(node, name), read_float_attribute(node, name));
}

std::vector<float>
read_float32_array_attribute(const Node& node, const std::string& name, hsize_t size) {
    const std::string object = attribute_object(node, name);
    std::vector<double> wide(size);
    try {
        const H5::Attribute a = open_attribute(node, name);
        const H5::DataType type = a.getDataType();
        TRISEG_CHECK(type.getClass() == H5T_FLOAT, InputError,
                     node.file << ": " << object << " has type " << type_name(type)
                               << ", expected float32");
        const Dims got = shape(a.getSpace());
        TRISEG_CHECK(got == Dims{size}, InputError,
                     node.file << ": " << object << " has shape " << shape_string(got)
                               << ", expected " << shape_string({size}));
        if (size > 0) {
            a.read(H5::PredType::NATIVE_DOUBLE, wide.data());
        }
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, node.file, object);
    }
    std::vector<float> values;
    values.reserve(wide.size());
    for (size_t i = 0; i < wide.size(); ++i) {
        values.push_back(to_float32(node, object + "[" + std::to_string(i) + "]", wide[i]));
    }
    return values;
}

// -- explicit instantiations --------------------------------------------------------------------

#define TRISEG_H5_INSTANTIATE(T)                                                                   \
    template void write_dataset<T>(const Node&, const std::string&, const Dims&,                   \
                                   const std::vector<T>&);                                         \
    template std::vector<T> read_dataset<T>(const Node&, const std::string&, const Dims&);         \
    template void write_attribute<T>(const Node&, const std::string&, T);                          \
    template void write_attribute<T>(const Node&, const std::string&, const std::vector<T>&);      \
    template std::vector<T> read_attribute<T>(const Node&, const std::string&, const Dims&);
TRISEG_H5_INSTANTIATE(int8_t)
TRISEG_H5_INSTANTIATE(uint8_t)
TRISEG_H5_INSTANTIATE(int16_t)
TRISEG_H5_INSTANTIATE(uint16_t)
TRISEG_H5_INSTANTIATE(int32_t)
TRISEG_H5_INSTANTIATE(uint32_t)
TRISEG_H5_INSTANTIATE(int64_t)
TRISEG_H5_INSTANTIATE(uint64_t)
TRISEG_H5_INSTANTIATE(float)
TRISEG_H5_INSTANTIATE(double)
#undef TRISEG_H5_INSTANTIATE

} // namespace triseg::io::h5
