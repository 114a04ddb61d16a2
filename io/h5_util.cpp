// HDF5 helpers: typed, checked access to datasets and attributes; errors as triseg errors.
#include "io/h5_util.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <new>
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

/// HDF5's automatic error-stack printing is switched off once at startup: every failure
/// becomes a triseg error with one line of text (H5Silence keeps the innermost message).
const bool kQuietAtStartup = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    H5::Exception::dontPrint();
    return true;
}();

} // namespace

namespace detail {

bool no_times(hid_t object_create_plist) {
    // No modification times in object headers: the same content gives the same bytes, so a
    // re-exported model keeps its SHA-256 (the search's resume identity, docs/files.md).
    return H5Pset_obj_track_times(object_create_plist, false) >= 0;
}

std::string detail_of(const H5::Exception& e) {
    const H5Silence* silence = H5Silence::current();
    return silence != nullptr ? silence->describe(e) : e.getFuncName() + ": " + e.getDetailMsg();
}

void track_order(hid_t create_plist) {
    const unsigned flags = H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED;
    if (H5Pset_link_creation_order(create_plist, flags) < 0 ||
        H5Pset_attr_creation_order(create_plist, flags) < 0 || !no_times(create_plist)) {
        throw H5::PropListIException("track_order", "H5Pset_*_creation_order failed");
    }
}

} // namespace detail

namespace {

using detail::detail_of;
using detail::track_order;

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
    // One line: the sec2 driver's messages embed ctime() text, which ends in a newline.
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    return msg;
}

herr_t H5Silence::record(hid_t stack, void* self) {
    auto* silence = static_cast<H5Silence*>(self);
    silence->innermost_.clear();
    silence->no_space_ = false;
    silence->checksum_ = false;
    silence->out_of_memory_ = false;
    H5Ewalk2(
        stack, H5E_WALK_UPWARD,
        [](unsigned n, const H5E_error2_t* err, void* out) -> herr_t {
            auto* s = static_cast<H5Silence*>(out);
            if (err == nullptr || err->desc == nullptr) {
                return 0;
            }
            const std::string desc = err->desc;
            if (n == 0) {
                s->innermost_ = desc;
            }
            // sec2 driver: "file write failed: ..., errno = 28, error message = '...'"
            if (desc.find("errno = " + std::to_string(ENOSPC) + ",") != std::string::npos ||
                desc.find("errno = " + std::to_string(EDQUOT) + ",") != std::string::npos) {
                s->no_space_ = true;
            }
            // H5E_NOSPACE is "no space available for allocation" (memory; a full disk is
            // recognised by its errno above).
            if (err->min_num == H5E_NOSPACE ||
                desc.find("memory allocation failed") != std::string::npos) {
                s->out_of_memory_ = true;
            }
            if (desc.find("fletcher32") != std::string::npos ||
                desc.find("checksum") != std::string::npos) {
                s->checksum_ = true;
            }
            return 0;
        },
        silence);
    return 0;
}

std::string write_error_text(int err) {
    return err == ENOSPC || err == EDQUOT ? std::string("no space left on device")
                                          : std::string(std::strerror(err));
}

void rethrow(const H5::Exception& e,
             Access access,
             const std::string& file,
             const std::string& object,
             const std::string& remedy) {
    const H5Silence* silence = H5Silence::current();
    if (silence != nullptr && silence->out_of_memory() && !silence->no_space()) {
        throw std::bad_alloc(); // not the file's fault: main reports "not enough memory", exit 4
    }
    const std::string detail = detail_of(e);
    if (access == Access::Write) {
        TRISEG_CHECK(silence == nullptr || !silence->no_space(), IoError,
                     "cannot write " << file << ": " << write_error_text(ENOSPC)
                                     << " (free some space and rerun)");
        TRISEG_THROW(IoError,
                     (object.empty() ? "cannot write " + file : file + ": cannot write " + object)
                         << ": " << detail);
    }
    TRISEG_CHECK(silence == nullptr || !silence->checksum_mismatch(), InputError,
                 file << " is damaged (checksum mismatch in "
                      << (object.empty() ? std::string("its data") : object) << ")"
                      << (remedy.empty() ? "" : "; " + remedy));
    TRISEG_THROW(InputError,
                 (object.empty() ? "cannot read " + file : file + ": cannot read " + object)
                     << " (corrupt file?): " << detail);
}

// -- files and groups ---------------------------------------------------------------------------

std::string Node::child(const std::string& name) const {
    return path == "/" ? "/" + name : path + "/" + name;
}

Node create_group(const Node& parent, const std::string& name) {
    Node node{H5::Group(), parent.child(name), parent.file, parent.remedy};
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
        return Node{parent.group.openGroup(name), path, parent.file, parent.remedy};
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, parent.file, "group '" + path + "'", parent.remedy);
    }
}

void require_checksum(const Node& parent, const std::string& object, const H5::DataSet& ds) {
    const H5::DSetCreatPropList dcpl = ds.getCreatePlist();
    const H5::DataSpace space = ds.getSpace();
    if (H5Pget_layout(dcpl.getId()) == H5D_VIRTUAL || space.getSimpleExtentNdims() == 0 ||
        space.getSimpleExtentNpoints() == 0) {
        return;
    }
    unsigned flags = 0;
    size_t n = 0;
    unsigned config = 0;
    const bool checked = H5Pget_filter_by_id2(dcpl.getId(), H5Z_FILTER_FLETCHER32, &flags, &n,
                                              nullptr, 0, nullptr, &config) >= 0;
    TRISEG_CHECK(checked, InputError,
                 parent.file << ": " << object
                             << " has no checksum (Fletcher32 filter), which every dataset triseg "
                                "writes has: it was rewritten by another tool, or the file comes "
                                "from a triseg before checksums"
                             << (parent.remedy.empty() ? "" : "; " + parent.remedy));
}

bool has_link(const Node& parent, const std::string& name) {
    return H5Lexists(parent.group.getId(), name.c_str(), H5P_DEFAULT) > 0;
}

hsize_t num_links(const Node& node) {
    try {
        return node.group.getNumObjs();
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, node.file, "group '" + node.path + "'", node.remedy);
    }
}

// -- datasets -----------------------------------------------------------------------------------

H5::DSetCreatPropList checked_layout(const Dims& dims, size_t elem_bytes) {
    H5::DSetCreatPropList dcpl;
    Dims chunk = dims;
    hsize_t row = elem_bytes;
    for (size_t i = 1; i < chunk.size(); ++i) {
        row *= chunk[i];
    }
    // As few chunks of at most kChunkBytes as possible, split evenly: a partial last chunk is
    // stored whole, so rows / chunks (rounded up) wastes less than one row per chunk.
    const hsize_t rows = std::max<hsize_t>(chunk[0], 1);
    const hsize_t most = std::max<hsize_t>(1, kChunkBytes / std::max<hsize_t>(row, 1));
    const hsize_t chunks = (rows + most - 1) / most;
    chunk[0] = (rows + chunks - 1) / chunks;
    dcpl.setChunk(static_cast<int>(chunk.size()), chunk.data());
    dcpl.setFletcher32();
    return dcpl;
}

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
    // The C API, so that a dataset whose chunks cannot be flushed (full disk) is closed here
    // and the failure reported, not printed by the C++ destructor.
    hid_t ds = -1;
    try {
        const bool checked = !dims.empty() && !data.empty();
        const H5::DSetCreatPropList dcpl =
            checked ? checked_layout(dims, sizeof(T)) : H5::DSetCreatPropList();
        detail::no_times(dcpl.getId());
        ds = H5Dcreate2(parent.group.getId(), name.c_str(), Elem<T>::file().getId(),
                        make_space(dims).getId(), H5P_DEFAULT, dcpl.getId(), H5P_DEFAULT);
        if (ds < 0) {
            throw H5::DataSetIException("H5Dcreate2", "cannot create the dataset");
        }
        if (!data.empty() &&
            H5Dwrite(ds, Elem<T>::mem().getId(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0) {
            throw H5::DataSetIException("H5Dwrite", "cannot write the dataset");
        }
        const hid_t done = ds;
        ds = -1;
        if (H5Dclose(done) < 0) {
            throw H5::DataSetIException("H5Dclose", "cannot flush the dataset");
        }
    } catch (const H5::Exception& e) {
        if (ds >= 0) {
            H5Dclose(ds);
        }
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
        require_checksum(parent, object, ds);
        std::vector<T> data(num_elements(dims));
        if (!data.empty()) {
            ds.read(data.data(), Elem<T>::mem());
        }
        return data;
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, parent.file, object, parent.remedy);
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
        H5::DSetCreatPropList dcpl;
        detail::no_times(dcpl.getId());
        const H5::DataSet ds = parent.group.createDataSet(name, type, H5::DataSpace(1, &n), dcpl);
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
        rethrow(e, Access::Read, parent.file, object, parent.remedy);
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
        rethrow(e, Access::Read, node.file, object, node.remedy);
    }
}

std::string read_string_attribute(const Node& node, const std::string& name) {
    try {
        const H5::Attribute a = open_scalar_attribute(node, name, H5T_STRING, "string");
        std::string value;
        a.read(a.getStrType(), value);
        return value;
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, node.file, attribute_object(node, name), node.remedy);
    }
}

int64_t read_int_attribute(const Node& node, const std::string& name, int64_t lo, int64_t hi) {
    int64_t value = 0;
    try {
        open_scalar_attribute(node, name, H5T_INTEGER, "integer")
            .read(H5::PredType::NATIVE_INT64, &value);
    } catch (const H5::Exception& e) {
        rethrow(e, Access::Read, node.file, attribute_object(node, name), node.remedy);
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
        rethrow(e, Access::Read, node.file, attribute_object(node, name), node.remedy);
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
        rethrow(e, Access::Read, node.file, object, node.remedy);
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
