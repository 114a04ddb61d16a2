// RunConfig: every section of a triseg YAML config, parsed and validated.
#pragma once

#include "engine/approx_options.h"
#include "engine/qat_options.h"
#include "engine/search_options.h"
#include "engine/train_options.h"
#include "io/data_options.h"
#include "models/vgg_options.h"
#include "search/ppo_options.h"

namespace triseg::io {

/// The whole configuration of a run. Sections map one-to-one to YAML top-level keys.
struct RunConfig {
    DataOptions data;               ///< `data:`
    models::VggOptions model;       ///< `model:`
    engine::TrainOptions train;     ///< `train:`
    engine::RuntimeOptions runtime; ///< `runtime:`
    engine::QatOptions qat;         ///< `qat:`
    engine::ApproxOptions approx;   ///< `approx:`
    engine::SearchOptions search;   ///< `search:`
    search::PpoOptions ppo;         ///< `ppo:`

    bool operator==(const RunConfig& o) const {
        return data == o.data && model == o.model && train == o.train && runtime == o.runtime &&
               qat == o.qat && approx == o.approx && search == o.search && ppo == o.ppo;
    }
    bool operator!=(const RunConfig& o) const { return !(*this == o); }

    void validate() const {
        data.validate();
        model.validate();
        train.validate();
        runtime.validate();
        qat.validate();
        approx.validate();
        search.validate();
        ppo.validate();
    }
};

} // namespace triseg::io
