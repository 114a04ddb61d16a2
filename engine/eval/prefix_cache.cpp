// PrefixCache implementation.
#include "engine/eval/prefix_cache.h"

#include <algorithm>

#include "common/error.h"

namespace triseg::engine {

PrefixCache::PrefixCache(const Int8Network& net,
                         const ScoringSet& set,
                         int64_t shard_images,
                         int64_t max_bytes)
    : net_(net), set_(set), shard_images_(shard_images) {
    TRISEG_CHECK(shard_images >= 1, ConfigError,
                 "search.shard_images must be at least 1, got " << shard_images);
    shards_ = (set.count() + shard_images - 1) / shard_images;
    for (int64_t b = 0; b < net.num_layers(); ++b) {
        block_bytes_ += set.count() * net.block_output_size(b);
    }
    for (int32_t t : net.live_non_points()) {
        block_bytes_ += set.count() * net.graph().tensors[static_cast<size_t>(t)].size();
    }
    enabled_ = max_bytes > 0 && block_bytes_ <= max_bytes;
}

void PrefixCache::set_anchor(const std::optional<CodeSet>& anchor) {
    if (anchor == anchor_) {
        return;
    }
    std::vector<CodeTable> tables;
    if (anchor) {
        TRISEG_CHECK(static_cast<int64_t>(anchor->layers.size()) == net_.num_layers(), InputError,
                     "the anchor has codes for " << anchor->layers.size()
                                                 << " layers; the model has " << net_.num_layers());
        for (size_t l = 0; l < anchor->layers.size(); ++l) {
            tables.push_back(make_table(anchor->layers[l], net_.layer_names()[l]));
        }
    }
    anchor_ = anchor;
    tables_ = std::move(tables);
    filled_.assign(static_cast<size_t>(shards_), false);
    histograms_.assign(static_cast<size_t>(shards_), {});
}

int64_t PrefixCache::replay_block(const CodeSet& codes) const {
    if (!enabled_ || !anchor_ || codes.layers.size() != anchor_->layers.size()) {
        return -1;
    }
    const int64_t layers = net_.num_layers();
    for (int64_t l = 0; l < layers; ++l) {
        if (codes.layers[static_cast<size_t>(l)] != anchor_->layers[static_cast<size_t>(l)]) {
            return l;
        }
    }
    return layers - 1;
}

void PrefixCache::fill(int64_t k0, int64_t k1, int threads) {
    TRISEG_CHECK(enabled_ && anchor_, InputError, "the prefix cache has no anchor to fill");
    const auto layers = static_cast<size_t>(net_.num_layers());
    const auto& tensors = net_.graph().tensors;
    if (outputs_.empty()) {
        of_tensor_.assign(tensors.size(), nullptr);
        for (size_t b = 0; b < layers; ++b) {
            const auto block = static_cast<int64_t>(b);
            outputs_.emplace_back(
                static_cast<size_t>(set_.count() * net_.block_output_size(block)));
        }
        for (int32_t t : net_.live_non_points()) {
            others_.emplace_back(
                static_cast<size_t>(set_.count() * tensors[static_cast<size_t>(t)].size()));
        }
        for (size_t b = 0; b < layers; ++b) {
            of_tensor_[static_cast<size_t>(net_.live_tensors(static_cast<int64_t>(b))[0])] =
                &outputs_[b];
        }
        for (size_t j = 0; j < others_.size(); ++j) {
            of_tensor_[static_cast<size_t>(net_.live_non_points()[j])] = &others_[j];
        }
    }
    std::vector<const uint8_t*> ptrs;
    for (const auto& t : tables_) {
        ptrs.push_back(t.data());
    }
    std::vector<float> logits;
    int64_t k = k0;
    while (k < k1) {
        if (filled_[static_cast<size_t>(k)]) {
            ++k;
            continue;
        }
        int64_t end = k;
        while (end < k1 && !filled_[static_cast<size_t>(end)]) {
            ++end;
        }
        const int64_t i0 = k * shard_images_;
        const int64_t i1 = std::min(set_.count(), end * shard_images_);
        std::vector<uint8_t*> keep(tensors.size(), nullptr);
        for (size_t t = 0; t < tensors.size(); ++t) {
            if (of_tensor_[t] != nullptr) {
                keep[t] = of_tensor_[t]->data() + i0 * tensors[t].size();
            }
        }
        logits.resize(static_cast<size_t>((i1 - i0) * net_.num_classes()));
        net_.forward_tensors(set_.inputs.codes.data() + i0 * set_.inputs.image_codes, i1 - i0,
                             logits.data(), keep, ptrs, threads);
        for (int64_t s = k; s < end; ++s) {
            const int64_t a = s * shard_images_;
            const int64_t e = std::min(set_.count(), a + shard_images_);
            auto& h = histograms_[static_cast<size_t>(s)];
            h.assign(layers, CodeHistogram{});
            for (size_t b = 0; b < layers; ++b) {
                const int64_t size = net_.block_output_size(static_cast<int64_t>(b));
                const uint8_t* p = outputs_[b].data() + a * size;
                const uint8_t* stop = outputs_[b].data() + e * size;
                for (; p < stop; ++p) {
                    ++h[b][*p];
                }
            }
            filled_[static_cast<size_t>(s)] = true;
        }
        k = end;
    }
}

const uint8_t* PrefixCache::block_output(int64_t block, int64_t image) const {
    return outputs_.at(static_cast<size_t>(block)).data() + image * net_.block_output_size(block);
}

std::vector<const uint8_t*> PrefixCache::live(int64_t block, int64_t image) const {
    std::vector<const uint8_t*> out;
    for (int32_t t : net_.live_tensors(block)) {
        const auto* store = of_tensor_.at(static_cast<size_t>(t));
        out.push_back(store->data() + image * net_.graph().tensors[static_cast<size_t>(t)].size());
    }
    return out;
}

void PrefixCache::add_histograms(int64_t last,
                                 int64_t k0,
                                 int64_t k1,
                                 std::vector<CodeHistogram>& histograms) const {
    for (int64_t s = k0; s < k1; ++s) {
        TRISEG_CHECK(filled_[static_cast<size_t>(s)], InputError,
                     "prefix cache shard " << s << " is not filled");
        const auto& h = histograms_[static_cast<size_t>(s)];
        for (int64_t b = 0; b <= last; ++b) {
            for (size_t v = 0; v < 256; ++v) {
                histograms[static_cast<size_t>(b)][v] += h[static_cast<size_t>(b)][v];
            }
        }
    }
}

int64_t PrefixCache::filled_shards() const {
    return std::count(filled_.begin(), filled_.end(), true);
}

} // namespace triseg::engine
