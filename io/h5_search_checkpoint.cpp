// Search checkpoint file.
#include "io/h5_search_checkpoint.h"

#include <vector>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/h5_util.h"

namespace triseg::io {

namespace {

constexpr const char* kFormat = "triseg-search-checkpoint/1";
constexpr hsize_t kMaxEntries = 1000;
constexpr const char* kRemedy = "delete it to start the search over, or restore it from a backup";

std::string describe(const std::string& path) {
    return "search checkpoint '" + path + "'";
}

} // namespace

void write_search_checkpoint(const std::string& path, const SearchCheckpointFile& c) {
    AtomicPath out(path);
    {
        h5::H5Silence silence;
        auto file = h5::File::create(out.tmp(), describe(path), out.folder());
        {
            const auto& root = file.root();
            h5::write_string_attribute(root, "format", kFormat);
            h5::write_string_attribute(root, "method", c.method);
            h5::write_string_dataset(root, "driver", {c.driver_json});
            h5::write_string_dataset(root, "config", {c.config_yaml});
            const auto algo = h5::create_group(root, "algorithm");
            std::vector<std::string> keys;
            size_t i = 0;
            for (const auto& [key, bytes] : c.entries) {
                keys.push_back(key);
                const std::vector<uint8_t> data(bytes.begin(), bytes.end());
                h5::write_dataset<uint8_t>(algo, "entry_" + std::to_string(i++), {data.size()},
                                           data);
            }
            h5::write_string_dataset(algo, "keys", keys);
        }
        file.close();
    }
    out.commit();
}

SearchCheckpointFile read_search_checkpoint(const std::string& path) {
    const std::string name = describe(path);
    h5::H5Silence silence;
    auto file = h5::File::open(path, name, kRemedy);
    SearchCheckpointFile c;
    {
        const auto& root = file.root();
        TRISEG_CHECK(h5::has_attribute(root, "format"), InputError,
                     name << " is not a triseg search checkpoint (no 'format' attribute)");
        const std::string format = h5::read_string_attribute(root, "format");
        TRISEG_CHECK(format == kFormat, InputError,
                     name << " has format '" << format << "', expected '" << kFormat << "'");
        c.method = h5::read_string_attribute(root, "method");
        c.driver_json = h5::read_string_dataset(root, "driver", 1, 1).at(0);
        c.config_yaml = h5::read_string_dataset(root, "config", 1, 1).at(0);
        const auto algo = h5::open_group(root, "algorithm");
        const auto keys = h5::read_string_dataset(algo, "keys", 0, kMaxEntries);
        for (size_t i = 0; i < keys.size(); ++i) {
            const std::string entry = "entry_" + std::to_string(i);
            TRISEG_CHECK(h5::has_link(algo, entry), InputError,
                         name << ": missing dataset '/algorithm/" << entry << "' for '" << keys[i]
                              << "' (damaged file?)");
            H5::DataSet ds;
            hsize_t n = 0;
            try {
                ds = algo.group.openDataSet(entry);
                const auto dims = h5::shape(ds.getSpace());
                TRISEG_CHECK(dims.size() == 1, InputError,
                             name << ": '/algorithm/" << entry << "' is not one-dimensional");
                n = dims[0];
            } catch (const H5::Exception& e) {
                h5::rethrow(e, h5::Access::Read, name, "dataset '/algorithm/" + entry + "'",
                            kRemedy);
            }
            const auto bytes = h5::read_dataset<uint8_t>(algo, entry, {n});
            c.entries[keys[i]] = std::string(bytes.begin(), bytes.end());
        }
    }
    file.close();
    return c;
}

} // namespace triseg::io
