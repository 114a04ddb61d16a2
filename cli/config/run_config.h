// RunConfig: every section of a triseg YAML config, parsed and validated.
#pragma once

#include "cli/config/method_sections.h"
#include "engine/core/approx_options.h"
#include "engine/core/runtime_options.h"
#include "engine/train/qat_options.h"
#include "engine/train/ste_options.h"
#include "engine/train/train_config.h"
#include "engine/train/train_options.h"
#include "io/data_options.h"
#include "models/spec/model_options.h"
#include "search/driver/search_options.h"

namespace triseg::cli {

/// The whole configuration of a run. Sections map one-to-one to YAML top-level keys.
struct RunConfig {
    io::DataOptions data;           ///< `data:`
    models::ModelOptions model;     ///< `model:`
    engine::TrainOptions train;     ///< `train:`
    engine::RuntimeOptions runtime; ///< `runtime:`
    engine::QatOptions qat;         ///< `qat:`
    engine::SteOptions ste;         ///< `ste:` (train-ste, the STE baseline)
    engine::ApproxOptions approx;   ///< `approx:`
    search::SearchOptions search;   ///< `search:`
    /// One section per registered search method with options, named after it (`ppo:`).
    MethodSections methods;

    bool operator==(const RunConfig& o) const {
        return data == o.data && model == o.model && train == o.train && runtime == o.runtime &&
               qat == o.qat && ste == o.ste && approx == o.approx && search == o.search &&
               methods == o.methods;
    }
    bool operator!=(const RunConfig& o) const { return !(*this == o); }

    /// The sections the trainers read.
    engine::TrainConfig train_config() const { return {data, model, runtime, train, qat}; }

    void validate() const {
        data.validate();
        model.validate();
        train.validate();
        runtime.validate();
        qat.validate();
        ste.validate();
        approx.validate();
        search.validate();
        methods.validate();
    }
};

} // namespace triseg::cli
