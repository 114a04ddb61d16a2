// Checkpoint integrity: damaged, truncated or unhashed .pt files are input errors naming the
// file, never a quietly different model.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <torch/torch.h>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/model_yaml.h"
#include "models/checkpoint.h"
#include "models/vgg.h"
#include "tests/io/temp_dir.h"
#include "tests/models/zip_records.h"

namespace triseg::models {
namespace {

ModelOptions tiny_options() {
    ModelOptions o;
    o.arch = ModelArch::Vgg11;
    o.width = 0.125;
    return o;
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string flipped(std::string bytes, size_t at) {
    bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
    return bytes;
}

/// True when `b` has `a`'s options and exactly its parameters and buffers.
bool same_model(Vgg& a, Vgg& b) {
    if (!(a->options() == b->options())) {
        return false;
    }
    const auto pa = a->named_parameters();
    const auto pb = b->named_parameters();
    for (const auto& item : pa) {
        if (!torch::equal(item.value(), pb[item.key()])) {
            return false;
        }
    }
    const auto ba = a->named_buffers();
    const auto bb = b->named_buffers();
    for (const auto& item : ba) {
        if (!torch::equal(item.value(), bb[item.key()])) {
            return false;
        }
    }
    return true;
}

class CheckpointIntegrity : public ::testing::Test {
protected:
    void SetUp() override {
        torch::manual_seed(3);
        model_ = Vgg(tiny_options());
        path_ = dir_.file("model.pt");
        save_model(model_, path_);
        bytes_ = io::read_file(path_);
    }

    test::TempDir dir_;
    Vgg model_{nullptr};
    std::string path_;
    std::string bytes_;
};

TEST_F(CheckpointIntegrity, ASavedModelLoadsBackIdentical) {
    auto loaded = load_model(path_);
    EXPECT_TRUE(same_model(model_, loaded));
}

TEST_F(CheckpointIntegrity, AFlippedByteInTensorDataIsAnInputError) {
    // Before the hash, this loaded as a model with one changed weight.
    const auto tensor = test::largest_record(bytes_);
    ASSERT_GT(tensor.size, 0u) << "no tensor record found";
    const std::string bad = dir_.file("float/model.pt");
    io::ensure_directory(dir_.file("float"));
    write_bytes(bad, flipped(bytes_, tensor.offset + tensor.size / 2));
    test::expect_error<InputError>([&] { load_model(bad); },
                                   {bad, "damaged", "SHA-256", "train-float --force"});
}

TEST_F(CheckpointIntegrity, EveryFlippedByteIsAnInputErrorNamingTheFile) {
    // The pickle, the zip structure, the end record and the seal itself. Before, some of these
    // ended as c10::Error or std::out_of_range ("internal error", exit 1) and some crashed
    // LibTorch's unpickler (SIGSEGV): the seal is now checked before LibTorch parses a byte.
    const auto pickle = test::largest_record(bytes_, "data.pkl");
    ASSERT_GT(pickle.size, 0u);
    std::vector<size_t> positions;
    for (size_t i = 0; i < pickle.size; i += 11) {
        positions.push_back(pickle.offset + i);
    }
    for (size_t i = 0; i < bytes_.size(); i += 997) {
        positions.push_back(i);
    }
    for (size_t i = bytes_.size() - 200; i < bytes_.size(); ++i) {
        positions.push_back(i);
    }
    const std::string bad = dir_.file("bad.pt");
    for (const size_t at : positions) {
        write_bytes(bad, flipped(bytes_, at));
        try {
            load_model(bad);
            ADD_FAILURE() << "byte " << at << " flipped: loaded anyway";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "byte " << at << ": not an InputError: " << e.what();
        }
    }
}

TEST_F(CheckpointIntegrity, TruncatedFilesAreInputErrors) {
    const std::string bad = dir_.file("cut.pt");
    for (const size_t keep :
         {size_t{0}, size_t{10}, bytes_.size() / 3, bytes_.size() - 22, bytes_.size() - 1}) {
        write_bytes(bad, bytes_.substr(0, keep));
        test::expect_error<InputError>([&] { load_model(bad); }, {bad});
    }
}

TEST_F(CheckpointIntegrity, AFileWithoutTheHashIsRefusedWithTheFix) {
    // What triseg wrote before format v2: the same entries, no seal.
    torch::serialize::OutputArchive archive;
    archive.write("triseg_format", c10::IValue(std::string("triseg-checkpoint-v1")));
    archive.write("triseg_kind", c10::IValue(std::string("float")));
    archive.write("triseg_model_yaml", c10::IValue(io::model_to_yaml(tiny_options())));
    model_->save(archive);
    io::ensure_directory(dir_.file("float"));
    archive.save_to(dir_.file("float/old.pt"));
    test::expect_error<InputError>([&] { load_model(dir_.file("float/old.pt")); },
                                   {"old.pt", "no integrity hash", "train-float --force"});
}

TEST_F(CheckpointIntegrity, ATrainingStateWithNestedArchivesIsCoveredToo) {
    // last.pt's layout: the model and the optimizer as nested archives, plus scalars.
    torch::optim::SGD opt(model_->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    model_->train();
    auto loss = model_->forward(torch::randn({2, 1, 32, 32})).sum();
    loss.backward();
    opt.step();
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_ar;
    torch::serialize::OutputArchive opt_ar;
    write_module(*model_, model_->options(), kFloatKind, model_ar);
    opt.save(opt_ar);
    archive.write("model", model_ar);
    archive.write("optimizer", opt_ar);
    archive.write("epoch", c10::IValue(int64_t{1}));
    archive.write("history", c10::IValue(std::string("[]")));
    archive.write("wall_seconds", c10::IValue(1.5));
    io::ensure_directory(dir_.file("qat"));
    const std::string last = dir_.file("qat/last.pt");
    save_archive(archive, last);
    EXPECT_NO_THROW(open_archive(last));

    const std::string bytes = io::read_file(last);
    // Every tensor record: the weights and the momentum buffers.
    int tensors = 0;
    for (const auto& r : test::zip_records(bytes)) {
        if (r.name.find("/data/") == std::string::npos || r.size == 0) {
            continue;
        }
        ++tensors;
        write_bytes(last, flipped(bytes, r.offset + r.size - 1));
        test::expect_error<InputError>([&] { open_archive(last); },
                                       {last, "damaged", "train-qat --force"});
    }
    EXPECT_GT(tensors, 10);
}

} // namespace
} // namespace triseg::models
