// Checkpoint save/load with validation of format, kind and tensor shapes.
#include "models/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include <torch/serialize.h>

#include "common/error.h"
#include "common/out_of_memory.h"
#include "io/atomic_file.h"
#include "io/content_hash.h"
#include "io/model_yaml.h"
#include "models/nets.h"
#include "models/spec/vgg_layout.h"

namespace triseg::models {

namespace {

constexpr const char* kFormatKey = "triseg_format";
constexpr const char* kKindKey = "triseg_kind";
constexpr const char* kModelKey = "triseg_model_yaml";

std::string
read_string(torch::serialize::InputArchive& archive, const char* key, const std::string& source) {
    c10::IValue value;
    TRISEG_CHECK(archive.try_read(key, value) && value.isString(), InputError,
                 "'" << source << "' is not a triseg checkpoint (no '" << key
                     << "' entry); was it written by another tool?");
    return value.toStringRef();
}

std::string first_line(const std::string& s) {
    return s.substr(0, s.find('\n'));
}

/// How to re-create a damaged checkpoint, from the stage folder it lies in.
std::string recreate_hint(const std::string& path) {
    const std::string stage = std::filesystem::path(path).parent_path().filename().string();
    if (stage == "float") {
        return "re-create it with `triseg train-float --force` for its run folder";
    }
    if (stage == "qat") {
        return "re-create it with `triseg train-qat --force` for its run folder";
    }
    return "re-create it with `triseg train-float --force` (float/) or `triseg train-qat --force` "
           "(qat/) for its run folder";
}

/// The zip comment that seals a checkpoint: this prefix and 64 hex digits of SHA-256.
constexpr const char* kSealPrefix = "triseg-sha256:";
constexpr size_t kSealSize = 14 + 64;
/// The end-of-central-directory record of a zip file without comment: 22 bytes, the last two
/// of which hold the comment's length.
constexpr size_t kEocdSize = 22;

/// Appends the seal to a zip file's bytes as its comment. The hash covers every byte before
/// the comment-length field (all records, the central directory, the rest of the end record).
void seal(std::string& zip) {
    TRISEG_CHECK(zip.size() >= kEocdSize &&
                     zip.compare(zip.size() - kEocdSize, 4, std::string("PK\5\6", 4)) == 0 &&
                     zip[zip.size() - 2] == 0 && zip[zip.size() - 1] == 0,
                 IoError, "LibTorch wrote a zip file of an unexpected layout");
    const std::string digest = io::sha256_hex(zip.data(), zip.size() - 2);
    zip[zip.size() - 2] = static_cast<char>(kSealSize & 0xff);
    zip[zip.size() - 1] = static_cast<char>(kSealSize >> 8);
    zip += kSealPrefix + digest;
}

/// Checks the seal of a checkpoint's bytes before anything parses them (a damaged pickle can
/// crash LibTorch's reader). @throws InputError naming `path`.
void check_seal(const std::string& zip, const std::string& path) {
    const size_t n = zip.size();
    const bool sealed = n >= kEocdSize + kSealSize &&
                        zip.compare(n - kSealSize - kEocdSize, 4, std::string("PK\5\6", 4)) == 0 &&
                        static_cast<uint8_t>(zip[n - kSealSize - 2]) == (kSealSize & 0xff) &&
                        static_cast<uint8_t>(zip[n - kSealSize - 1]) == (kSealSize >> 8) &&
                        zip.compare(n - kSealSize, 14, kSealPrefix) == 0;
    TRISEG_CHECK(sealed, InputError,
                 "'" << path << "' carries no integrity hash (a zip comment `" << kSealPrefix
                     << "<sha256>`): it is damaged or truncated, not a triseg checkpoint, or one "
                     << "written before format " << kCheckpointFormat
                     << ", which this triseg does not read; " << recreate_hint(path));
    const std::string stored = zip.substr(n - kSealSize + 14);
    const std::string digest = io::sha256_hex(zip.data(), n - kSealSize - 2);
    TRISEG_CHECK(digest == stored, InputError,
                 "'" << path << "' is damaged: its bytes do not match the SHA-256 stored in it ("
                     << stored.substr(0, 12) << "... stored, " << digest.substr(0, 12)
                     << "... computed); " << recreate_hint(path));
}

/// Runs `load` and turns LibTorch's and the standard library's errors (a damaged zip or
/// pickle ends in c10::Error, std::out_of_range, ...) into an InputError naming `path`; an
/// allocation failure goes on unchanged.
template <typename Fn> void as_input_error(const std::string& path, Fn&& load) {
    try {
        load();
    } catch (const Error&) {
        throw;
    } catch (const c10::Error& e) {
        if (out_of_memory(e).found) {
            throw; // not the file's fault: main reports "not enough memory"
        }
        TRISEG_THROW(InputError, "'" << path << "' is damaged or not a triseg checkpoint ("
                                     << first_line(e.what_without_backtrace()) << "); "
                                     << recreate_hint(path));
    } catch (const std::exception& e) {
        if (out_of_memory(e).found) {
            throw;
        }
        TRISEG_THROW(InputError, "'" << path << "' is damaged or not a triseg checkpoint ("
                                     << first_line(e.what()) << "); " << recreate_hint(path));
    }
}

} // namespace

void write_module(torch::nn::Module& module,
                  const ModelOptions& options,
                  const std::string& kind,
                  torch::serialize::OutputArchive& archive) {
    archive.write(kFormatKey, c10::IValue(std::string(kCheckpointFormat)));
    archive.write(kKindKey, c10::IValue(kind));
    archive.write(kModelKey, c10::IValue(io::model_to_yaml(options)));
    module.save(archive);
}

ModelOptions read_module_options(torch::serialize::InputArchive& archive,
                                 const std::string& source,
                                 const std::string& expected_kind) {
    const std::string format = read_string(archive, kFormatKey, source);
    TRISEG_CHECK(format == kCheckpointFormat, InputError,
                 "'" << source << "' has checkpoint format '" << format << "'; this triseg reads '"
                     << kCheckpointFormat << "'");
    const std::string kind = read_string(archive, kKindKey, source);
    TRISEG_CHECK(expected_kind.empty() || kind == expected_kind, InputError,
                 "'" << source << "' holds a " << kind << " model, but a " << expected_kind
                     << " model is needed here");
    return io::model_from_yaml(read_string(archive, kModelKey, source), source);
}

void read_module_state(torch::nn::Module& module,
                       torch::serialize::InputArchive& archive,
                       const std::string& source) {
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& item : module.named_parameters()) {
        shapes[item.key()] = item.value().sizes().vec();
    }
    for (const auto& item : module.named_buffers()) {
        shapes[item.key()] = item.value().sizes().vec();
    }
    try {
        module.load(archive);
    } catch (const c10::Error& e) {
        TRISEG_THROW(InputError, "'" << source << "' does not match its own model config ("
                                     << first_line(e.what_without_backtrace()) << ")");
    }
    // LibTorch replaces tensors without comparing shapes: check them here.
    auto check = [&](const std::string& key, const torch::Tensor& t) {
        TRISEG_CHECK(t.sizes().vec() == shapes.at(key), InputError,
                     "'" << source << "': tensor '" << key << "' has shape " << t.sizes()
                         << " but the model config needs " << c10::IntArrayRef(shapes.at(key)));
    };
    for (const auto& item : module.named_parameters()) {
        check(item.key(), item.value());
    }
    for (const auto& item : module.named_buffers()) {
        check(item.key(), item.value());
    }
}

void save_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
    std::string bytes;
    try {
        archive.save_to([&bytes](const void* data, size_t size) {
            bytes.append(static_cast<const char*>(data), size);
            return size;
        });
    } catch (const c10::Error& e) {
        TRISEG_THROW(IoError, "cannot write checkpoint '"
                                  << path << "': " << first_line(e.what_without_backtrace()));
    }
    seal(bytes);
    io::write_file_atomic(path, bytes); // the data and its hash are one file, replaced at once
}

torch::serialize::InputArchive open_archive(const std::string& path) {
    TRISEG_CHECK(io::file_exists(path), IoError, "checkpoint '" << path << "' does not exist");
    const std::string bytes = io::read_file(path);
    check_seal(bytes, path);
    torch::serialize::InputArchive archive;
    as_input_error(path, [&] { archive.load_from(bytes.data(), bytes.size(), torch::kCPU); });
    return archive;
}

void save_float_net(FloatNetImpl& model, const std::string& path) {
    torch::serialize::OutputArchive archive;
    write_module(model, model.options(), kFloatKind, archive);
    save_archive(archive, path);
}

FloatNet read_float_net(torch::serialize::InputArchive& archive, const std::string& source) {
    FloatNet model = make_float_net(read_module_options(archive, source, kFloatKind));
    read_module_state(*model, archive, source);
    return model;
}

FloatNet load_float_net(const std::string& path) {
    auto archive = open_archive(path);
    return read_float_net(archive, path);
}

void save_qat_net(QatNetImpl& model, const std::string& path) {
    torch::serialize::OutputArchive archive;
    write_module(model, model.options(), kQatKind, archive);
    save_archive(archive, path);
}

QatNet read_qat_net(torch::serialize::InputArchive& archive, const std::string& source) {
    QatNet model = make_qat_net(read_module_options(archive, source, kQatKind));
    read_module_state(*model, archive, source);
    return model;
}

QatNet load_qat_net(const std::string& path) {
    auto archive = open_archive(path);
    return read_qat_net(archive, path);
}

namespace {
void require_vgg(const ModelOptions& options, const std::string& source) {
    TRISEG_CHECK(is_vgg(options.arch), InputError,
                 "'" << source << "' holds a " << arch_name(options.arch)
                     << " model; this stage runs VGG models (vgg11, vgg16) only");
}
} // namespace

void save_model(Vgg& model, const std::string& path) {
    torch::serialize::OutputArchive archive;
    write_module(*model, model->options(), kFloatKind, archive);
    save_archive(archive, path);
}

Vgg read_model(torch::serialize::InputArchive& archive, const std::string& source) {
    const ModelOptions options = read_module_options(archive, source, kFloatKind);
    require_vgg(options, source);
    Vgg model(options);
    read_module_state(*model, archive, source);
    return model;
}

Vgg load_model(const std::string& path) {
    auto archive = open_archive(path);
    return read_model(archive, path);
}

void save_qat_model(QatVgg& model, const std::string& path) {
    torch::serialize::OutputArchive archive;
    write_module(*model, model->options(), kQatKind, archive);
    save_archive(archive, path);
}

QatVgg read_qat_model(torch::serialize::InputArchive& archive, const std::string& source) {
    const ModelOptions options = read_module_options(archive, source, kQatKind);
    require_vgg(options, source);
    QatVgg model(options);
    read_module_state(*model, archive, source);
    return model;
}

QatVgg load_qat_model(const std::string& path) {
    auto archive = open_archive(path);
    return read_qat_model(archive, path);
}

} // namespace triseg::models
