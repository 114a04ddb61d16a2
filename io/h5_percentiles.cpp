// The percentiles file: flat datasets indexed [layer, ...] in /layer_names order.
#include "io/h5_percentiles.h"

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/h5_util.h"

namespace triseg::io {

namespace {

constexpr hsize_t kMaxLayers = 1024;
constexpr hsize_t kMaxLevels = 1000;
constexpr const char* kRemedy = "re-create it with `triseg collect-percentiles`";

std::string describe(const std::string& path) {
    return "percentiles file '" + path + "'";
}

} // namespace

void write_percentiles(const PercentilesFile& p, const std::string& path) {
    const std::string label = describe(path);
    const auto layers = static_cast<hsize_t>(p.layers.size());
    const auto levels = static_cast<hsize_t>(p.levels.size());
    std::vector<std::string> names;
    std::vector<int64_t> hist;
    std::vector<int32_t> pct;
    std::vector<double> le_tmax;
    std::vector<float> scale;
    std::vector<int32_t> zp;
    for (const auto& l : p.layers) {
        TRISEG_CHECK(l.percentiles.size() == p.levels.size(), InputError,
                     label << ": layer " << l.name << " has " << l.percentiles.size()
                           << " percentiles for " << p.levels.size() << " levels");
        names.push_back(l.name);
        hist.insert(hist.end(), l.histogram.begin(), l.histogram.end());
        pct.insert(pct.end(), l.percentiles.begin(), l.percentiles.end());
        le_tmax.push_back(l.fraction_le_tmax);
        scale.push_back(l.scale);
        zp.push_back(l.zero_point);
    }
    const h5::H5Silence silence;
    AtomicPath atomic(path);
    h5::File file = h5::File::create(atomic.tmp(), label, atomic.folder());
    const h5::Node& root = file.root();
    h5::write_string_attribute(root, "format", kPercentilesFormat);
    h5::write_attribute<int64_t>(root, "tmax", p.tmax);
    h5::write_attribute<int64_t>(root, "images", p.images);
    h5::write_string_attribute(root, "source", p.source);
    h5::write_string_attribute(root, "model", p.model);
    h5::write_string_attribute(root, "created", p.created);
    h5::write_string_attribute(root, "tool_version", p.tool_version);
    h5::write_string_dataset(root, "layer_names", names);
    h5::write_dataset<double>(root, "levels", {levels}, p.levels);
    h5::write_dataset<int64_t>(root, "histograms", {layers, 256}, hist);
    h5::write_dataset<int32_t>(root, "percentiles", {layers, levels}, pct);
    h5::write_dataset<double>(root, "fraction_le_tmax", {layers}, le_tmax);
    h5::write_dataset<float>(root, "scale", {layers}, scale);
    h5::write_dataset<int32_t>(root, "zero_point", {layers}, zp);
    file.close();
    atomic.commit();
}

namespace {

PercentilesFile read_body(const h5::Node& root, const std::string& label) {
    TRISEG_CHECK(h5::has_attribute(root, "format"), InputError,
                 label << " is not a triseg percentiles file (no 'format' attribute)");
    const std::string format = h5::read_string_attribute(root, "format");
    TRISEG_CHECK(format == kPercentilesFormat, InputError,
                 label << " has format '" << format << "', expected '" << kPercentilesFormat
                       << "'");
    PercentilesFile p;
    p.tmax = h5::read_int_attribute(root, "tmax", 0, 255);
    p.images = h5::read_int_attribute(root, "images", 0, int64_t{1} << 40);
    p.source = h5::read_string_attribute(root, "source");
    p.model = h5::read_string_attribute(root, "model");
    p.created = h5::read_string_attribute(root, "created");
    p.tool_version = h5::read_string_attribute(root, "tool_version");
    const auto names = h5::read_string_dataset(root, "layer_names", 1, kMaxLayers);
    const auto layers = static_cast<hsize_t>(names.size());
    TRISEG_CHECK(h5::has_link(root, "levels"), InputError, label << ": missing dataset '/levels'");
    const auto levels =
        static_cast<hsize_t>(h5::shape(root.group.openDataSet("levels").getSpace()).at(0));
    TRISEG_CHECK(levels >= 1 && levels <= kMaxLevels, InputError,
                 label << ": dataset '/levels' holds " << levels << " values");
    p.levels = h5::read_dataset<double>(root, "levels", {levels});
    for (size_t i = 0; i < p.levels.size(); ++i) {
        TRISEG_CHECK(
            p.levels[i] > 0 && p.levels[i] <= 100 && (i == 0 || p.levels[i] > p.levels[i - 1]),
            InputError, label << ": '/levels' must increase within (0, 100], got " << p.levels[i]);
    }
    const auto hist = h5::read_dataset<int64_t>(root, "histograms", {layers, 256});
    const auto pct = h5::read_dataset<int32_t>(root, "percentiles", {layers, levels});
    const auto le_tmax = h5::read_dataset<double>(root, "fraction_le_tmax", {layers});
    const auto scale = h5::read_dataset<float>(root, "scale", {layers});
    const auto zp = h5::read_dataset<int32_t>(root, "zero_point", {layers});
    for (size_t i = 0; i < names.size(); ++i) {
        LayerPercentiles l;
        l.name = names[i];
        l.scale = scale[i];
        l.zero_point = zp[i];
        for (size_t c = 0; c < 256; ++c) {
            l.histogram[c] = hist[i * 256 + c];
            TRISEG_CHECK(l.histogram[c] >= 0, InputError,
                         label << ": negative count in '/histograms' of layer " << l.name);
        }
        l.percentiles.assign(pct.begin() + static_cast<std::ptrdiff_t>(i * levels),
                             pct.begin() + static_cast<std::ptrdiff_t>((i + 1) * levels));
        l.fraction_le_tmax = le_tmax[i];
        p.layers.push_back(std::move(l));
    }
    return p;
}

} // namespace

PercentilesFile read_percentiles(const std::string& path) {
    const std::string label = describe(path);
    const h5::H5Silence silence;
    h5::File file = h5::File::open(path, label, kRemedy);
    try {
        PercentilesFile p = read_body(file.root(), label);
        file.close();
        return p;
    } catch (const H5::Exception& e) {
        h5::rethrow(e, h5::Access::Read, label, "", kRemedy);
    }
}

} // namespace triseg::io
