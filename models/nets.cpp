// Network factories.
#include "models/nets.h"

#include "common/error.h"
#include "models/graph_net.h"
#include "models/qat_vgg.h"
#include "models/vgg.h"

namespace triseg::models {

FloatNet make_float_net(const ModelOptions& options) {
    if (is_vgg(options.arch)) {
        return std::make_shared<VggImpl>(options);
    }
    return std::make_shared<GraphNetImpl>(options);
}

QatNet make_qat_net(const ModelOptions& options) {
    if (is_vgg(options.arch)) {
        return std::make_shared<QatVggImpl>(options);
    }
    return std::make_shared<QatGraphImpl>(options);
}

QatNet fold_to_qat(FloatNetImpl& float_model) {
    if (auto* vgg = dynamic_cast<VggImpl*>(&float_model)) {
        return std::make_shared<QatVggImpl>(*vgg);
    }
    auto* graph = dynamic_cast<GraphNetImpl*>(&float_model);
    TRISEG_CHECK(graph != nullptr, InputError, "unknown float network type");
    return std::make_shared<QatGraphImpl>(*graph);
}

} // namespace triseg::models
