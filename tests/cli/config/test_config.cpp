// Tests of io/config: YAML -> RunConfig, --set overrides, key-path errors, to_yaml round trips.
#include "cli/config/config.h"
#include "io/model_yaml.h"
#include "search/ppo_options.h"
#include "search/registry.h"

#include "common/error.h"
#include "common/option_checks.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace triseg::cli {
namespace {

using io::DataOptions;
using io::DatasetKind;
using io::model_from_yaml;
using io::model_to_yaml;

/// Runs `fn` and checks that it throws exactly `ErrorType` whose message holds every part.
template <typename ErrorType>
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
    try {
        fn();
    } catch (const ErrorType& e) {
        const std::string message = e.what();
        for (const std::string& part : parts) {
            EXPECT_NE(message.find(part), std::string::npos)
                << "message: " << message << "\nlacks: " << part;
        }
        return;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type, message: " << e.what();
        return;
    }
    ADD_FAILURE() << "no exception thrown";
}

/// parse_config(text, overrides) must throw ConfigError holding every part.
void expect_config_error(const std::string& text,
                         const std::vector<std::string>& overrides,
                         const std::vector<std::string>& parts) {
    expect_error<ConfigError>([&] { parse_config(text, overrides); }, parts);
}

/// The fixed sections and one per registered method with options, sorted.
std::string valid_sections() {
    std::vector<std::string> names = {"approx",  "data",   "model", "qat",
                                      "runtime", "search", "ste",   "train"};
    for (const auto& entry : search::methods()) {
        if (entry.has_section) {
            names.push_back(entry.name);
        }
    }
    std::sort(names.begin(), names.end());
    return "valid sections: " + triseg::detail::join(names);
}

/// A configuration in which every field differs from its default; floats are awkward on purpose.
RunConfig non_default_config() {
    RunConfig c;
    c.data.dataset = DatasetKind::Cifar10;
    c.data.root = "/data/cifar 10: #raw";
    c.data.image_size = 40;
    c.data.augment = false;
    c.data.crop_padding = 2;
    c.data.flip = false;
    c.data.val_size = 5000;
    c.data.train_limit = 1234;
    c.data.test_limit = 999;
    c.data.mean = {0.1 + 0.2, 1.0 / 3.0, 0.4914};
    c.data.std = {0.2470, 1e-4, 2.0 / 7.0};
    c.model.arch = models::ModelArch::Vgg11;
    c.model.width = 0.1 + 0.2;
    c.model.in_channels = 3;
    c.model.num_classes = 100;
    c.model.image_size = 64;
    c.train.epochs = 7;
    c.train.batch_size = 64;
    c.train.eval_batch_size = 250;
    c.train.lr = 1.0 / 3.0;
    c.train.lr_schedule = engine::LrSchedule::Step;
    c.train.lr_min = 1e-5;
    c.train.step_epochs = 3;
    c.train.step_gamma = 0.5;
    c.train.momentum = 0.85;
    c.train.nesterov = true;
    c.train.weight_decay = 1e-4;
    c.train.label_smoothing = 0.1;
    c.runtime.seed = 42;
    c.runtime.threads = 3;
    c.runtime.device = "cuda:1";
    c.qat.epochs = 5;
    c.qat.batch_size = 32;
    c.qat.lr = 0.003;
    c.qat.lr_min = 1e-6;
    c.qat.momentum = 0.8;
    c.qat.weight_decay = 1.0 / 7.0;
    c.qat.calibration_batches = 3;
    c.qat.averaging_constant = 0.02;
    c.qat.freeze_observers_after = 77;
    c.approx.temperature = 4.5;
    c.approx.tmax = 64;
    c.approx.max_acc_drop = 1.5;
    c.search.method = "random";
    c.search.episodes = 77;
    c.search.max_seconds = 12.5;
    c.search.eval_split = engine::ImageSplit::Test;
    c.search.shard_images = 7;
    auto& ppo = c.methods.get<search::PpoOptions>("ppo");
    ppo.lr = 1e-3;
    ppo.hidden = 0;
    return c;
}

// ---------------------------------------------------------------------------------------------
// Defaults, full files and round trips

TEST(ConfigTest, EmptyTextGivesDefaults) {
    EXPECT_EQ(parse_config("", {}), RunConfig{});
    EXPECT_EQ(parse_config("# only a comment\n", {}), RunConfig{});
    EXPECT_EQ(parse_config("train:\nmodel: {}\n", {}), RunConfig{});
}

TEST(ConfigTest, ParsesEveryValueType) {
    const RunConfig c = parse_config("data:\n"
                                     "  dataset: mnist\n"
                                     "  root: /tmp/mnist\n"
                                     "  augment: no\n"
                                     "  mean: [0.5]\n"
                                     "  std: [0.25]\n"
                                     "model:\n"
                                     "  arch: vgg11\n"
                                     "  width: 1\n"
                                     "train:\n"
                                     "  epochs: 3\n"
                                     "  lr: 1.5e-2\n"
                                     "  lr_schedule: constant\n"
                                     "  nesterov: true\n",
                                     {});
    RunConfig expected;
    expected.data.dataset = DatasetKind::Mnist;
    expected.data.root = "/tmp/mnist";
    expected.data.augment = false;
    expected.data.mean = {0.5};
    expected.data.std = {0.25};
    expected.model.arch = models::ModelArch::Vgg11;
    expected.model.width = 1.0;
    expected.train.epochs = 3;
    expected.train.lr = 0.015;
    expected.train.lr_schedule = engine::LrSchedule::Constant;
    expected.train.nesterov = true;
    EXPECT_EQ(c, expected);
}

TEST(ConfigTest, ToYamlRoundTripsEveryField) {
    const RunConfig c = non_default_config();
    ASSERT_NE(c.data, DataOptions{});
    ASSERT_NE(c.model, models::ModelOptions{});
    ASSERT_NE(c.train, engine::TrainOptions{});
    ASSERT_NE(c.runtime, engine::RuntimeOptions{});
    ASSERT_NE(c.qat, engine::QatOptions{});
    ASSERT_NE(c.approx, engine::ApproxOptions{});
    const std::string yaml = to_yaml(c);
    EXPECT_EQ(parse_config(yaml, {}), c) << yaml;
}

TEST(ConfigTest, ToYamlOfDefaultsListsEveryKeyInStructOrder) {
    const std::string yaml = to_yaml(RunConfig{});
    EXPECT_EQ(parse_config(yaml, {}), RunConfig{}) << yaml;
    EXPECT_NE(yaml.find("mean: []"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("root: \"\""), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("dataset: fashion-mnist"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("lr_schedule: cosine"), std::string::npos) << yaml;
    const std::vector<std::string> ordered = {
        "data:",  "dataset:", "std:",        "model:",           "arch:",    "width:",
        "train:", "epochs:",  "batch_size:", "label_smoothing:", "runtime:", "device:"};
    size_t previous = 0;
    for (const std::string& key : ordered) {
        const size_t at = yaml.find(key, previous);
        ASSERT_NE(at, std::string::npos) << key << " missing or out of order in\n" << yaml;
        previous = at;
    }
    EXPECT_EQ(to_yaml(RunConfig{}), yaml);
}

/// The text of a file under tests/data.
std::string read_data(const std::string& name) {
    std::ifstream in(std::string(TRISEG_SOURCE_DIR) + "/tests/data/" + name, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    EXPECT_TRUE(in.good() || in.eof()) << name;
    return text.str();
}

// The run's config.yaml is compared byte for byte with the golden files, so that any change of
// the written text is deliberate. A change that adds or renames a key regenerates them with
// TRISEG_REGENERATE_CONFIG_GOLDEN=1 (tests/data/README.md); review the diff before committing.
TEST(ConfigTest, ToYamlIsByteIdenticalToTheGoldenText) {
    const RunConfig tiny = load_config(std::string(TRISEG_SOURCE_DIR) + "/configs/tiny.yaml", {});
    const std::vector<std::pair<std::string, std::string>> golden = {
        {"config_default_golden.yaml", to_yaml(RunConfig{})},
        {"config_tiny_golden.yaml", to_yaml(tiny)}};
    const char* regenerate = std::getenv("TRISEG_REGENERATE_CONFIG_GOLDEN");
    for (const auto& [name, text] : golden) {
        if (regenerate != nullptr && std::string(regenerate) == "1") {
            std::ofstream out(std::string(TRISEG_SOURCE_DIR) + "/tests/data/" + name,
                              std::ios::binary | std::ios::trunc);
            out << text;
            ASSERT_TRUE(out.good()) << name;
        }
        EXPECT_EQ(text, read_data(name)) << name << ": if the change is deliberate, regenerate "
                                         << "with TRISEG_REGENERATE_CONFIG_GOLDEN=1";
    }
}

// docs/config.md documents every key triseg writes into config.yaml: under the heading
// `## <section>`, a table row whose first cell names the key in backticks (one row may name
// several: "| `mean`, `std` |"). A new key without a row fails here, naming it.
TEST(ConfigTest, EveryKeyIsDocumentedInConfigMd) {
    std::ifstream in(std::string(TRISEG_SOURCE_DIR) + "/docs/config.md");
    ASSERT_TRUE(in.good()) << "docs/config.md";
    std::map<std::string, std::set<std::string>> documented;
    std::string section;
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("## ", 0) == 0) {
            section = line.substr(3);
            continue;
        }
        if (line.rfind("| `", 0) != 0 || section.empty()) {
            continue;
        }
        const std::string cell = line.substr(1, line.find('|', 1) - 1);
        for (size_t a = cell.find('`'); a != std::string::npos; a = cell.find('`', a + 1)) {
            const size_t b = cell.find('`', a + 1);
            if (b == std::string::npos) {
                break;
            }
            documented[section].insert(cell.substr(a + 1, b - a - 1));
            a = b;
        }
    }
    const YAML::Node config = YAML::Load(to_yaml(RunConfig{}));
    std::vector<std::string> missing;
    for (const auto& sec : config) {
        for (const auto& key : sec.second) {
            const std::string name = sec.first.as<std::string>();
            if (documented[name].count(key.first.as<std::string>()) == 0) {
                missing.push_back(name + "." + key.first.as<std::string>());
            }
        }
    }
    EXPECT_TRUE(missing.empty()) << "keys without a row in docs/config.md: "
                                 << detail::join(missing);
}

/// Sets every field it visits to a value that differs from `base`'s and is still valid for
/// most ranges: integers +1, numbers * 0.5, bools flipped, strings and lists extended (a word
/// of a two-word option, such as `ppo.state`, becomes the other word).
class ChangeField final : public FieldVisitor {
public:
    explicit ChangeField(int target) : target_(target) {}
    void field(const std::string& key, int64_t& v) override {
        if (hit(key)) {
            v += 1;
        }
    }
    void field(const std::string& key, double& v) override {
        if (hit(key)) {
            v = v == 0.0 ? 0.25 : v * 0.5;
        }
    }
    void field(const std::string& key, bool& v) override {
        if (hit(key)) {
            v = !v;
        }
    }
    void field(const std::string& key, std::string& v) override {
        if (hit(key)) {
            const auto other = kOtherWord.find(v);
            v = other != kOtherWord.end() ? other->second : v + "x";
        }
    }
    void field(const std::string& key, std::vector<double>& v) override {
        if (hit(key)) {
            v.push_back(key == "curriculum_layers" ? 2.0 : 0.5); // a count of layers
        }
    }
    std::string changed; ///< key of the changed field ("" when target was past the last)
    int count = 0;       ///< fields visited

private:
    bool hit(const std::string& key) {
        const bool yes = count++ == target_;
        if (yes) {
            changed = key;
        }
        return yes;
    }
    int target_;
    inline static const std::map<std::string, std::string> kOtherWord = {
        {"embedding", "enhanced"}, {"absolute", "relative"}, {"kd", "ranked"}, {"mlp", "gru"}};
};

// Every field of every registered method's section is read and written under its own key, and
// `--set section.key=...` reaches it.
TEST(ConfigTest, EveryMethodSectionRoundTripsFieldByField) {
    for (const auto& entry : search::methods()) {
        for (int target = 0;; ++target) {
            RunConfig c;
            ChangeField change(target);
            c.methods.at(entry.name).visit(change);
            if (change.changed.empty()) {
                EXPECT_EQ(entry.has_section, target > 0) << entry.name;
                break;
            }
            ASSERT_NE(c, RunConfig{}) << entry.name << "." << change.changed;
            const std::string yaml = to_yaml(c);
            EXPECT_EQ(parse_config(yaml, {}), c) << yaml;
            // The same value through --set, read back from the emitted section.
            const YAML::Node node = YAML::Load(yaml)[entry.name][change.changed];
            std::string value = YAML::Dump(node);
            EXPECT_EQ(parse_config("", {entry.name + "." + change.changed + "=" + value}), c)
                << entry.name << "." << change.changed << "=" << value;
        }
    }
}

TEST(ConfigTest, MethodSectionsRejectUnknownKeysAndBadValues) {
    for (const auto& entry : search::methods()) {
        if (!entry.has_section) {
            expect_config_error(entry.name + ":\n  x: 1\n", {},
                                {"unknown section `" + entry.name + "`", valid_sections()});
            continue;
        }
        expect_config_error(entry.name + ":\n  no_such_key: 1\n", {},
                            {"unknown key `" + entry.name + ".no_such_key`",
                             "valid keys in `" + entry.name + "`: "});
    }
    expect_config_error("ppo:\n  lrr: 1\n", {},
                        {"valid keys in `ppo`: align, align_points, curriculum, "
                         "curriculum_episodes, curriculum_layers, embedding_dim, encoding, "
                         "entropy_coef, eps_clip, gamma, hidden, init_lr, init_policy, init_prob, "
                         "init_steps, k_epochs, layer_reward, lr, policy, reward, state, "
                         "temperature_episodes, temperatures, update_transitions, value_coef"});
    expect_config_error("", {"ppo.lr=2"}, {"`ppo.lr` must be in [1e-08, 1], got 2"});
    EXPECT_EQ(parse_config("", {"ppo.lr=0.001"}).methods.get<search::PpoOptions>("ppo").lr, 0.001);
}

// ---------------------------------------------------------------------------------------------
// Overrides

TEST(ConfigTest, OverridesOfEveryForm) {
    const RunConfig c = parse_config("train:\n  lr: 0.2\n",
                                     {"train.lr=0.01", "data.mean=[0.5]", "data.std=[0.25]",
                                      "runtime.device=cuda:1", "data.augment=no",
                                      "model.arch=vgg11", "train.epochs = 4", "train.epochs=5"});
    EXPECT_EQ(c.train.lr, 0.01);
    EXPECT_EQ(c.data.mean, std::vector<double>{0.5});
    EXPECT_EQ(c.data.std, std::vector<double>{0.25});
    EXPECT_EQ(c.runtime.device, "cuda:1");
    EXPECT_FALSE(c.data.augment);
    EXPECT_EQ(c.model.arch, models::ModelArch::Vgg11);
    EXPECT_EQ(c.train.epochs, 5); // the last override wins
}

TEST(ConfigTest, OverrideCreatesSectionOnEmptyOrNullInput) {
    EXPECT_EQ(parse_config("", {"runtime.seed=9"}).runtime.seed, 9);
    EXPECT_EQ(parse_config("runtime:\n", {"runtime.seed=9"}).runtime.seed, 9);
}

TEST(ConfigTest, AliasesAreRefusedBeforeAnyWalkOverTheTree) {
    // Nine levels of nine aliases: 9^9 nodes for a walk that follows them.
    std::string bomb = "train:\n  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
    for (char c = 'b'; c <= 'i'; ++c) {
        const std::string p(1, static_cast<char>(c - 1));
        bomb += std::string("  ") + c + ": &" + c + " [*" + p + ", *" + p + ", *" + p + ", *" + p +
                ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + "]\n";
    }
    expect_config_error(bomb, {}, {"YAML aliases", "line 3"});
    expect_config_error("", {"train.lr=[&x 1, *x]"}, {"YAML aliases", "--set"});
    expect_config_error("train: &t {lr: 0.1}\nqat: *t\n", {}, {"YAML aliases", "line 2"});
}

TEST(ConfigTest, QuotedValuesAreCutShort) {
    const std::string huge(200000, 'x');
    try {
        parse_config("train:\n  lr: " + huge + "\n", {});
        FAIL() << "accepted";
    } catch (const ConfigError& e) {
        const std::string m = e.what();
        EXPECT_LT(m.size(), 400u) << m.substr(0, 400);
        EXPECT_NE(m.find("(200000 characters)"), std::string::npos) << m.substr(0, 400);
    }
}

TEST(ConfigTest, DataNormalizationIsBoundedAndBlamedOnItsOwnKey) {
    for (const char* v : {"[.inf]", "[.nan]", "[1e-45]", "[0.0]", "[-1.0]", "[1e9]"}) {
        expect_config_error("data:\n  mean: [0.5]\n  std: " + std::string(v) + "\n", {},
                            {"`data.std[0]` must be in [0.0001, 10000]"});
    }
    expect_config_error("data:\n  mean: [.inf]\n  std: [0.5]\n", {}, {"`data.mean[0]` must be in"});
}

TEST(ConfigTest, MalformedOverridesAreRejected) {
    expect_config_error("", {"train.lr"}, {"'train.lr'", "no '='", "`section.key=value`"});
    expect_config_error("", {"lr=0.1"}, {"'lr'", "exactly one dot", "`section.key=value`"});
    expect_config_error("", {"a.b.c=1"}, {"'a.b.c'", "exactly one dot"});
    expect_config_error("", {".lr=1"}, {"'.lr'", "`section.key=value`"});
    expect_config_error("", {"train.=1"}, {"'train.'", "`section.key=value`"});
    expect_config_error("", {"train.lr="}, {"'train.lr='", "empty value"});
    expect_config_error("", {"data.mean=[0.5"}, {"malformed YAML", "data.mean=[0.5"});
}

// ---------------------------------------------------------------------------------------------
// Unknown sections and keys

TEST(ConfigTest, UnknownSectionListsValidSections) {
    expect_config_error("foo:\n  x: 1\n", {},
                        {"unknown section `foo` in <string>", valid_sections()});
    expect_error<ConfigError>([] { parse_config("foo: 1\n", {}, "my.yaml"); },
                              {"unknown section `foo` in my.yaml"});
}

TEST(ConfigTest, UnknownKeyListsValidKeysOfItsSection) {
    expect_config_error("train:\n  lrr: 0.1\n", {},
                        {"unknown key `train.lrr` in <string>",
                         "valid keys in `train`: batch_size, epochs, eval_batch_size, "
                         "label_smoothing, lr, lr_min, lr_schedule, momentum, nesterov, "
                         "step_epochs, step_gamma, weight_decay"});
    expect_config_error("runtime:\n  gpu: 1\n", {},
                        {"unknown key `runtime.gpu`", "valid keys in `runtime`: device, seed, "
                                                      "threads"});
}

TEST(ConfigTest, UnknownNamesFromOverridesSayFromSet) {
    expect_config_error("", {"train.lrr=0.1"},
                        {"unknown key `train.lrr`", "(from --set)", "valid keys in `train`"});
    expect_config_error("", {"foo.x=1"},
                        {"unknown section `foo`", "(from --set)", "valid sections: approx, "});
    expect_config_error("train:\n  epochs: 2\n", {"train.epochs=abc"},
                        {"`train.epochs` must be an integer", "(from --set)"});
}

TEST(ConfigTest, UnknownKeyFromFileDoesNotSayFromSet) {
    try {
        parse_config("train:\n  lrr: 0.1\n", {"train.lr=0.1"});
        FAIL() << "no exception thrown";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).find("--set"), std::string::npos) << e.what();
    }
}

// ---------------------------------------------------------------------------------------------
// Wrong types and shapes

TEST(ConfigTest, IntegerKeysRejectNonIntegers) {
    expect_config_error("train:\n  epochs: 1.5\n", {},
                        {"`train.epochs` must be an integer, got '1.5'", "line 2"});
    expect_config_error("", {"train.epochs=abc"}, {"`train.epochs` must be an integer, got 'abc'"});
    expect_config_error("train:\n  epochs: [1]\n", {}, {"`train.epochs`", "got a list"});
    expect_config_error("train:\n  epochs:\n", {}, {"`train.epochs`", "got an empty value"});
}

TEST(ConfigTest, FloatKeysRejectNonNumbers) {
    expect_config_error("train:\n  lr: fast\n", {}, {"`train.lr` must be a number, got 'fast'"});
    expect_config_error("", {"model.width={a: 1}"}, {"`model.width` must be a number", "mapping"});
}

TEST(ConfigTest, BoolKeysRejectNonBools) {
    expect_config_error("data:\n  augment: maybe\n", {},
                        {"`data.augment` must be true or false, got 'maybe'"});
    expect_config_error("", {"train.nesterov=2"}, {"`train.nesterov` must be true or false"});
}

TEST(ConfigTest, EnumKeysListAllowedValues) {
    expect_config_error("model:\n  arch: vgg19\n", {},
                        {"`model.arch` must be one of vgg11, vgg16, resnet20, resnet32, resnet56, "
                         "resnet18, mobilenetv2; got 'vgg19'"});
    expect_config_error("", {"data.dataset=imagenet"},
                        {"`data.dataset` must be one of fashion-mnist, mnist, cifar10"});
    expect_config_error("", {"train.lr_schedule=linear"},
                        {"`train.lr_schedule` must be one of cosine, constant, step"});
}

TEST(ConfigTest, ListKeysRejectScalarsAndBadItems) {
    expect_config_error("data:\n  mean: 0.5\n", {},
                        {"`data.mean` must be a list of numbers, got '0.5'"});
    expect_config_error("", {"data.std=[0.5, x]"}, {"`data.std[1]` must be a number, got 'x'"});
}

TEST(ConfigTest, StringKeysRejectLists) {
    expect_config_error("runtime:\n  device: [cpu]\n", {},
                        {"`runtime.device` must be a string, got a list"});
}

TEST(ConfigTest, SectionsAndTopLevelMustBeMappings) {
    expect_config_error("train: 5\n", {}, {"section `train` must be a mapping", "'5'"});
    expect_config_error("train: [1, 2]\n", {"train.lr=0.1"}, {"section `train`", "a list"});
    expect_config_error("- a\n- b\n", {}, {"top level of <string> must be a mapping", "a list"});
}

// ---------------------------------------------------------------------------------------------
// Range checks, malformed YAML and files

TEST(ConfigTest, OutOfRangeValuesComeFromValidate) {
    expect_config_error("", {"train.momentum=1.5"}, {"train.momentum", "1.5"});
    expect_config_error("model:\n  image_size: 48\n", {}, {"model.image_size", "48"});
    expect_config_error("data:\n  mean: [0.5]\n", {}, {"data.mean", "data.std"});
}

TEST(ConfigTest, SearchNeedsABudgetAndKnownSplits) {
    expect_error<ConfigError>([] { parse_config("", {"search.episodes=0"}); },
                              {"needs a budget", "search.max_seconds"});
    expect_error<ConfigError>([] { parse_config("", {"search.eval_split=val"}); },
                              {"search.eval_split", "train, test"});
    expect_error<ConfigError>([] { parse_config("", {"ppo.gamma=2"}); }, {"ppo.gamma", "[0, 1]"});
}

TEST(ConfigTest, MalformedYamlReportsLineAndColumn) {
    expect_error<ConfigError>(
        [] { parse_config("train:\n  lr: 0.1\n  mean: [0.5, 0.2\n", {}, "bad.yaml"); },
        {"malformed YAML in bad.yaml at line 4, column "});
    expect_config_error("a: b: c\n", {}, {"malformed YAML", "line 1"});
}

TEST(ConfigTest, DuplicateKeysAreRefusedWithBothLines) {
    // yaml-cpp keeps both entries and a lookup finds the first: `seed` would silently be 0.
    expect_error<ConfigError>(
        [] { parse_config("runtime:\n  seed: 0\n  threads: 1\n  seed: 1\n", {}, "dup.yaml"); },
        {"duplicate key `runtime.seed` in dup.yaml", "line 2 and line 4"});
    expect_error<ConfigError>(
        [] {
            parse_config("train:\n  epochs: 2\nruntime:\n  seed: 3\ntrain:\n  lr: 0.1\n", {},
                         "dup.yaml");
        },
        {"duplicate key `train` in dup.yaml", "line 1 and line 5"});
    // Inside a flow mapping given to --set, and in a checkpoint's model section.
    expect_error<ConfigError>([] { parse_config("", {"data.mean={a: 1, a: 2}"}); },
                              {"duplicate key `a`", "--set 'data.mean={a: 1, a: 2}'"});
    expect_error<ConfigError>([] { model_from_yaml("width: 0.5\nwidth: 0.25\n", "m.pt"); },
                              {"duplicate key `width` in m.pt", "line 1 and line 2"});
    // The same key in different sections, and repeated --set of one key, are fine.
    EXPECT_EQ(parse_config("train:\n  lr: 0.1\nqat:\n  lr: 0.01\n", {}).qat.lr, 0.01);
    EXPECT_EQ(parse_config("", {"runtime.seed=1", "runtime.seed=2"}).runtime.seed, 2);
}

TEST(ConfigTest, MissingFileIsIoErrorNamingPath) {
    const std::string path = ::testing::TempDir() + "/triseg_no_such_config.yaml";
    std::remove(path.c_str());
    expect_error<IoError>([&] { load_config(path, {}); },
                          {"cannot read config file '" + path + "'", "No such file"});
}

TEST(ConfigTest, LoadConfigReadsFileAndNamesItInErrors) {
    const std::string path = ::testing::TempDir() + "/triseg_test_config.yaml";
    {
        std::ofstream out(path);
        out << "train:\n  epochs: 3\n";
    }
    EXPECT_EQ(load_config(path, {}).train.epochs, 3);
    EXPECT_EQ(load_config(path, {"train.epochs=4"}).train.epochs, 4);
    expect_error<ConfigError>([&] { load_config(path, {"train.lrr=1"}); },
                              {"unknown key `train.lrr` in " + path});
    std::remove(path.c_str());
}

// ---------------------------------------------------------------------------------------------
// The model section alone (checkpoints)

TEST(ConfigTest, ModelYamlRoundTrips) {
    const models::ModelOptions model = non_default_config().model;
    const std::string yaml = model_to_yaml(model);
    EXPECT_EQ(yaml.find("model:"), std::string::npos) << yaml; // a flat mapping
    EXPECT_NE(yaml.find("arch: vgg11"), std::string::npos) << yaml;
    EXPECT_EQ(model_from_yaml(yaml, "ckpt.pt"), model) << yaml;
    EXPECT_EQ(model_from_yaml(model_to_yaml(models::ModelOptions{}), "ckpt.pt"),
              models::ModelOptions{});
}

TEST(ConfigTest, ModelFromYamlErrorsNameSource) {
    const auto parse = [](const std::string& text) {
        return [text] { model_from_yaml(text, "runs/ckpt.pt"); };
    };
    expect_error<ConfigError>(parse("depth: 3\n"), {"unknown key `model.depth` in runs/ckpt.pt",
                                                    "valid keys in `model`: "
                                                    "arch, image_size"});
    expect_error<ConfigError>(parse("width: wide\n"),
                              {"`model.width` must be a number", "runs/ckpt.pt"});
    expect_error<ConfigError>(parse("image_size: 40\n"), {"model.image_size", "runs/ckpt.pt"});
    expect_error<ConfigError>(parse("arch: [\n"), {"malformed YAML in runs/ckpt.pt"});
}

// search.init: three words, lloyd by default; anything else names a result file (checked when
// the search starts); an empty value is refused. search.space: codes or allocation.
TEST(ConfigTest, SearchInitParsesItsThreeValuesOrAFile) {
    using search::SearchInit;
    EXPECT_EQ(RunConfig{}.search.init_kind(), SearchInit::Lloyd);
    EXPECT_EQ(parse_config("search:\n  init: lloyd\n", {}).search.init_kind(), SearchInit::Lloyd);
    EXPECT_EQ(parse_config("", {"search.init=evenly-spaced"}).search.init_kind(),
              SearchInit::EvenlySpaced);
    EXPECT_EQ(parse_config("", {"search.init=random"}).search.init_kind(), SearchInit::Random);
    const auto file = parse_config("", {"search.init=runs/a/search/ste/result.json"}).search;
    EXPECT_EQ(file.init_kind(), SearchInit::File);
    EXPECT_EQ(file.init, "runs/a/search/ste/result.json");
    expect_config_error("", {"search.init=''"}, {"search.init", "random", "lloyd", "result"});
}

TEST(ConfigTest, SearchSpaceAndTargetsAreChecked) {
    EXPECT_EQ(RunConfig{}.search.space, search::SearchSpace::Codes);
    const auto s =
        parse_config("", {"search.space=allocation", "search.tmax_min=20", "search.tmax_max=48",
                          "search.target_coverage=0.96", "search.target_drop=0.5"})
            .search;
    EXPECT_EQ(s.space, search::SearchSpace::Allocation);
    EXPECT_EQ(s.tmax_min, 20);
    EXPECT_EQ(s.tmax_max, 48);
    EXPECT_NEAR(s.coverage_penalty(0.95), search::kCoveragePenalty * 0.01, 1e-12);
    EXPECT_EQ(s.coverage_penalty(0.97), 0.0);
    EXPECT_EQ(RunConfig{}.search.coverage_penalty(0.1), 0.0);
    expect_config_error("", {"search.space=layers"}, {"search.space", "codes", "allocation"});
    expect_config_error("", {"search.tmax_min=11"}, {"search.tmax_min"});
    expect_config_error("", {"search.tmax_min=40", "search.tmax_max=39"}, {"search.tmax_max"});
    expect_config_error("", {"search.target_coverage=1.5"}, {"search.target_coverage"});
    expect_config_error("", {"search.target_drop=101"}, {"search.target_drop"});
}

} // namespace
} // namespace triseg::cli
