/*
 * helixer-train's options for one route, from the pipeline's parameters: a recipe, then every training
 * parameter the user set (those win). Plain Groovy (no Nextflow objects), so tests/test_nextflow.py runs it
 * with Groovy 4; conf/modules.config makes HELIXER_TRAIN's ext.args from it.
 *
 *   --recipe helixer-tools  the guide's loss weights; everything else helixer-train's own per-route defaults,
 *                           which docs/benchmarks.md measured to make better gene models on species the model
 *                           had not seen (lr 3e-4 whole, 1e-2 head and coverage, 1e-3 head on pseudolabels;
 *                           coverage with a hidden layer as wide as the output; new layers start as the
 *                           pretrained output layer; phase classes weighted; checkpoints by genic + coding
 *                           phase F1)
 *   --recipe guide          upstream's fine-tuning guide (Helixer docs/fine_tuning.md) exactly: route 1 as
 *                           upstream's training with 50 epochs; routes 2 and 3 at lr 1e-4 with the guide's
 *                           batch sizes (50/100, 140/280), new layers from random weights, no hidden layer,
 *                           coverage joined before the last BiLSTM, upstream's unweighted phase loss and its
 *                           checkpoints by genic F1 alone
 */
class HelixerRecipe {

    static final String CLASS_WEIGHTS = '0.7,1.6,1.2,1.2'
    static final String TRANSITION_WEIGHTS = '1,12,3,1,12,3'

    static final Map RECIPES = [
        'helixer-tools': [
            all: [ class_weights: CLASS_WEIGHTS, transition_weights: TRANSITION_WEIGHTS ],
        ],
        guide: [
            // what upstream's HybridModel.py does that helixer-train does otherwise by default
            all     : [ phase_class_weights: '1,1,1,1', checkpoint_metric: 'genic', learning_rate: 3e-4,
                        batch_size: 8, val_batch_size: 32, patience: 3 ],
            whole   : [ epochs: 50 ],
            head    : [ learning_rate: 1e-4, batch_size: 50, val_batch_size: 100, epochs: 100,
                        class_weights: CLASS_WEIGHTS, transition_weights: TRANSITION_WEIGHTS, hidden_units: 0,
                        fresh_head: true ],
            coverage: [ learning_rate: 1e-4, batch_size: 140, val_batch_size: 280, class_weights: CLASS_WEIGHTS,
                        transition_weights: TRANSITION_WEIGHTS, hidden_units: 0, fresh_head: true,
                        coverage_norm: 'log', join_at: 'before-last-lstm' ],
            // the guide resumes a route 2/3 fine-tune with its own training options (--fine-tune-resume)
            resume  : [ learning_rate: 1e-4, batch_size: 50, val_batch_size: 100, epochs: 100,
                        class_weights: CLASS_WEIGHTS, transition_weights: TRANSITION_WEIGHTS ],
        ],
    ]

    // the pipeline's training parameters, in helixer-train's option order
    static final List OPTIONS = [ 'learning_rate', 'batch_size', 'val_batch_size', 'epochs', 'patience',
                                  'check_every', 'checkpoint_metric', 'class_weights', 'transition_weights',
                                  'phase_class_weights', 'hidden_units', 'fresh_head', 'coverage_norm', 'join_at' ]
    // options only some routes have
    static final Map ROUTES_OF = [ hidden_units: [ 'head', 'coverage' ], fresh_head: [ 'head', 'coverage' ],
                                   coverage_norm: [ 'coverage' ], join_at: [ 'coverage' ] ]

    /** The options of ``route`` (scratch, whole, head, coverage, resume), name -> value, in OPTIONS order. */
    static Map options(Map params, String route) {
        def name = params.recipe ?: 'helixer-tools'
        def recipe = RECIPES[name]
        if (recipe == null) {
            throw new IllegalArgumentException("--recipe ${name}: not one of ${RECIPES.keySet().join(', ')}")
        }
        def chosen = [:] + (recipe.all ?: [:]) + (recipe[route] ?: [:])
        OPTIONS.each { option ->
            def value = params[option]
            if (value != null && value != '') {
                chosen[option] = value
            }
        }
        OPTIONS.findAll { chosen.containsKey(it) && (!ROUTES_OF[it] || route in ROUTES_OF[it]) }
            .collectEntries { [ (it): chosen[it] ] }
    }

    /** helixer-train's command-line options for ``route``, then --train_args as given. */
    static String trainArgs(Map params, String route) {
        def args = options(params, route).collect { option, value ->
            def flag = '--' + option.replace('_', '-')
            if (value instanceof Boolean) {
                return value ? flag : ''
            }
            def text = value instanceof Number ? formatNumber(value as Number) : value.toString()
            if (option.endsWith('_weights')) {
                text = text.replaceAll(/[\[\]\s]/, '')  // the guide's "[0.7, 1.6, 1.2, 1.2]" as one shell word
            }
            "${flag} ${text}"
        }.findAll()
        if (params.train_args) {
            args << params.train_args.toString()
        }
        args.join(' ')
    }

    private static String formatNumber(Number value) {
        value instanceof BigDecimal || value instanceof Double || value instanceof Float
            ? new BigDecimal(value.toString()).stripTrailingZeros().toString() : value.toString()
    }
}
