// YAML configs <-> RunConfig: section/key visitors, --set overrides, emission.
#include "cli/config/config.h"

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/config_reader.h"
#include "io/model_yaml.h"

#include <yaml-cpp/yaml.h>

#include <sstream>

namespace triseg::cli {

namespace {

using io::DataOptions;
using io::DatasetKind;
namespace detail = io::detail;

using detail::ConfigOrigin;
using detail::EnumNames;
using detail::load_yaml;
using detail::MapReader;
using detail::MapWriter;

// ---------------------------------------------------------------------------------------------
// Enum spellings, and the keys of each section in struct order. These lists are the only place
// a config key is spelled: reading (MapReader) and writing (MapWriter) both visit them.

const EnumNames<DatasetKind>& dataset_names() {
    static const EnumNames<DatasetKind> names = {{DatasetKind::FashionMnist, "fashion-mnist"},
                                                 {DatasetKind::Mnist, "mnist"},
                                                 {DatasetKind::Cifar10, "cifar10"}};
    return names;
}

const EnumNames<engine::LrSchedule>& schedule_names() {
    static const EnumNames<engine::LrSchedule> names = {{engine::LrSchedule::Cosine, "cosine"},
                                                        {engine::LrSchedule::Constant, "constant"},
                                                        {engine::LrSchedule::Step, "step"}};
    return names;
}

template <typename V> void visit_fields(V& v, DataOptions& o) {
    v.field("dataset", o.dataset, dataset_names());
    v.field("root", o.root);
    v.field("image_size", o.image_size);
    v.field("augment", o.augment);
    v.field("crop_padding", o.crop_padding);
    v.field("flip", o.flip);
    v.field("val_size", o.val_size);
    v.field("train_limit", o.train_limit);
    v.field("test_limit", o.test_limit);
    v.field("mean", o.mean);
    v.field("std", o.std);
}

template <typename V> void visit_fields(V& v, models::ModelOptions& o) {
    io::visit_model_fields(v, o);
}

template <typename V> void visit_fields(V& v, engine::TrainOptions& o) {
    v.field("epochs", o.epochs);
    v.field("batch_size", o.batch_size);
    v.field("eval_batch_size", o.eval_batch_size);
    v.field("lr", o.lr);
    v.field("lr_schedule", o.lr_schedule, schedule_names());
    v.field("lr_min", o.lr_min);
    v.field("step_epochs", o.step_epochs);
    v.field("step_gamma", o.step_gamma);
    v.field("momentum", o.momentum);
    v.field("nesterov", o.nesterov);
    v.field("weight_decay", o.weight_decay);
    v.field("label_smoothing", o.label_smoothing);
}

template <typename V> void visit_fields(V& v, engine::RuntimeOptions& o) {
    v.field("seed", o.seed);
    v.field("threads", o.threads);
    v.field("device", o.device);
}

template <typename V> void visit_fields(V& v, engine::QatOptions& o) {
    v.field("epochs", o.epochs);
    v.field("batch_size", o.batch_size);
    v.field("lr", o.lr);
    v.field("lr_min", o.lr_min);
    v.field("momentum", o.momentum);
    v.field("weight_decay", o.weight_decay);
    v.field("calibration_batches", o.calibration_batches);
    v.field("averaging_constant", o.averaging_constant);
    v.field("freeze_observers_after", o.freeze_observers_after);
}

const EnumNames<engine::SteVariant>& variant_names() {
    static const EnumNames<engine::SteVariant> names = {
        {engine::SteVariant::Original, engine::variant_name(engine::SteVariant::Original)},
        {engine::SteVariant::Lsq, engine::variant_name(engine::SteVariant::Lsq)}};
    return names;
}

template <typename V> void visit_fields(V& v, engine::SteOptions& o) {
    v.field("variant", o.variant, variant_names());
    v.field("epochs", o.epochs);
    v.field("batch_size", o.batch_size);
    v.field("lr", o.lr);
    v.field("alpha", o.alpha);
    v.field("beta0", o.beta0);
    v.field("beta_decay", o.beta_decay);
    v.field("beta_min", o.beta_min);
    v.field("init_percentile", o.init_percentile);
    v.field("tmax", o.tmax);
    v.field("lsq_levels", o.lsq_levels);
    v.field("log_every", o.log_every);
}

template <typename V> void visit_fields(V& v, engine::ApproxOptions& o) {
    v.field("temperature", o.temperature);
    v.field("tmax", o.tmax);
    v.field("max_acc_drop", o.max_acc_drop);
}

const EnumNames<engine::ImageSplit>& split_names() { // spelled once, by engine::split_name
    static const EnumNames<engine::ImageSplit> names = {
        {engine::ImageSplit::Train, engine::split_name(engine::ImageSplit::Train)},
        {engine::ImageSplit::Test, engine::split_name(engine::ImageSplit::Test)}};
    return names;
}

const EnumNames<search::SearchSpace>& space_names() {
    static const EnumNames<search::SearchSpace> names = {
        {search::SearchSpace::Codes, "codes"}, {search::SearchSpace::Allocation, "allocation"}};
    return names;
}

template <typename V> void visit_fields(V& v, search::SearchOptions& o) {
    v.field("method", o.method);
    v.field("episodes", o.episodes);
    v.field("max_evaluations", o.max_evaluations);
    v.field("max_macs", o.max_macs);
    v.field("max_seconds", o.max_seconds);
    v.field("episodes_per_generation", o.episodes_per_generation);
    v.field("init", o.init);
    v.field("space", o.space, space_names());
    v.field("tmax_min", o.tmax_min);
    v.field("tmax_max", o.tmax_max);
    v.field("target_coverage", o.target_coverage);
    v.field("target_drop", o.target_drop);
    v.field("reward_images", o.reward_images);
    v.field("reward_split", o.reward_split, split_names());
    v.field("eval_images", o.eval_images);
    v.field("eval_split", o.eval_split, split_names());
    v.field("eval_every", o.eval_every);
    v.field("checkpoint_every", o.checkpoint_every);
    v.field("shard_images", o.shard_images);
    v.field("prefix_cache_mb", o.prefix_cache_mb);
    v.field("racing_eta", o.racing_eta);
    v.field("racing_images", o.racing_images);
}

/// Lets a search method's options (which know only common/field_visitor.h) drive a MapReader or
/// a MapWriter.
template <typename Map> class FieldAdapter final : public FieldVisitor {
public:
    explicit FieldAdapter(Map& map) : map_(map) {}
    void field(const std::string& key, int64_t& value) override { map_.field(key, value); }
    void field(const std::string& key, double& value) override { map_.field(key, value); }
    void field(const std::string& key, bool& value) override { map_.field(key, value); }
    void field(const std::string& key, std::string& value) override { map_.field(key, value); }
    void field(const std::string& key, std::vector<double>& value) override {
        map_.field(key, value);
    }

private:
    Map& map_;
};

template <typename Map> void visit_fields(Map& map, search::MethodOptions& o) {
    FieldAdapter<Map> adapter(map);
    o.visit(adapter);
}

template <typename V> void visit_sections(V& v, RunConfig& c) {
    v.section("data", c.data);
    v.section("model", c.model);
    v.section("train", c.train);
    v.section("runtime", c.runtime);
    v.section("qat", c.qat);
    v.section("ste", c.ste);
    v.section("approx", c.approx);
    v.section("search", c.search);
    // Then one section per registered method that has options, in registry order.
    for (const auto& [entry, options] : c.methods.entries()) {
        if (entry->has_section) {
            v.section(entry->name, *options);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading and writing one section.

template <typename Options>
void read_fields(const YAML::Node& node,
                 const std::string& path,
                 const ConfigOrigin& origin,
                 Options& options) {
    MapReader reader(node, path, origin);
    visit_fields(reader, options);
    reader.finish();
}

/// Options are taken by mutable reference because visit_fields needs one (to_yaml visits a copy).
template <typename Options> void write_fields(YAML::Emitter& out, Options& options) {
    MapWriter writer(out);
    out << YAML::BeginMap;
    visit_fields(writer, options);
    out << YAML::EndMap;
}

/// Reads each section of the top-level mapping; finish() then rejects unknown sections.
class SectionReader {
public:
    SectionReader(const YAML::Node& root, const ConfigOrigin& origin)
        : top_(root, "", origin), origin_(origin) {}

    template <typename Options> void section(const std::string& name, Options& options) {
        read_fields(top_.section(name), name, origin_, options);
    }
    void finish() const { top_.finish(); }

private:
    MapReader top_;
    const ConfigOrigin& origin_;
};

class SectionWriter {
public:
    explicit SectionWriter(YAML::Emitter& out) : out_(out) {}

    template <typename Options> void section(const std::string& name, Options& options) {
        out_ << YAML::Key << name << YAML::Value;
        write_fields(out_, options);
    }

private:
    YAML::Emitter& out_;
};

// ---------------------------------------------------------------------------------------------
// YAML text, files and --set overrides.

std::string trim(const std::string& text) {
    const size_t begin = text.find_first_not_of(" \t");
    const size_t end = text.find_last_not_of(" \t");
    return begin == std::string::npos ? std::string() : text.substr(begin, end - begin + 1);
}

/// One parsed "section.key=value".
struct Override {
    std::string section;
    std::string key;
    YAML::Node value;
};

Override parse_override(const std::string& text) {
    const char* form = "; the form is `section.key=value`";
    const size_t equals = text.find('=');
    TRISEG_CHECK(equals != std::string::npos, ConfigError,
                 "override '" << detail::excerpt(text) << "' has no '='" << form);
    const std::string path = trim(text.substr(0, equals));
    const size_t dot = path.find('.');
    const bool one_dot = dot != std::string::npos && path.find('.', dot + 1) == std::string::npos;
    TRISEG_CHECK(one_dot && dot > 0 && dot + 1 < path.size(), ConfigError,
                 "override key '" << detail::excerpt(path) << "' must have exactly one dot"
                                  << form);
    const std::string value = trim(text.substr(equals + 1));
    TRISEG_CHECK(!value.empty(), ConfigError,
                 "override '" << detail::excerpt(text) << "' has an empty value" << form);
    return {path.substr(0, dot), path.substr(dot + 1),
            load_yaml(value, "--set '" + detail::excerpt(text) + "'")};
}

/// Writes the override into the tree (creating its section when absent) and records its paths
/// in `origin` so messages can say "(from --set)".
void apply_override(YAML::Node& root, const Override& o, ConfigOrigin& origin) {
    if (!root.IsMap()) {
        root.reset(YAML::Node(YAML::NodeType::Map));
    }
    const YAML::Node existing = static_cast<const YAML::Node&>(root)[o.section];
    detail::check_mapping(existing, o.section, origin);
    if (!existing.IsDefined()) {
        origin.from_set.insert(o.section);
    }
    if (!existing.IsDefined() || existing.IsNull()) {
        root[o.section] = YAML::Node(YAML::NodeType::Map);
    }
    root[o.section][o.key] = o.value;
    origin.from_set.insert(o.section + "." + o.key);
}

} // namespace

RunConfig parse_config(const std::string& yaml_text,
                       const std::vector<std::string>& overrides,
                       const std::string& source) {
    ConfigOrigin origin{source, {}};
    YAML::Node root = load_yaml(yaml_text, source);
    detail::check_mapping(root, "", origin);
    for (const std::string& text : overrides) {
        apply_override(root, parse_override(text), origin);
    }
    RunConfig config;
    SectionReader reader(root, origin);
    visit_sections(reader, config);
    reader.finish();
    config.validate();
    return config;
}

RunConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
    return parse_config(io::read_file(path, "config file", io::kMaxSmallFileBytes), overrides,
                        path);
}

std::string to_yaml(const RunConfig& config) {
    YAML::Emitter out;
    SectionWriter writer(out);
    RunConfig copy = config;
    out << YAML::BeginMap;
    visit_sections(writer, copy);
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

} // namespace triseg::cli
